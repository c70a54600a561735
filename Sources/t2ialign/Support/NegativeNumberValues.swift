/// swift-argument-parser reads `--steps -5` as the option `--steps` followed by a flag `-5`, and answers
/// "Missing value for '--steps'", which hides the real problem. Joining the two into `--steps=-5` lets the
/// value reach the command's own validation ("--steps must be positive"). Only a long option directly
/// followed by a token that reads as a negative number is joined; everything after `--` is left alone.
enum NegativeNumberValues {
    static func joined(_ arguments: [String]) -> [String] {
        var result: [String] = []
        result.reserveCapacity(arguments.count)
        var index = 0
        while index < arguments.count {
            let token = arguments[index]
            if token == "--" {
                result.append(contentsOf: arguments[index...])
                break
            }
            if index + 1 < arguments.count, isLongOptionWithoutValue(token), isNegativeNumber(arguments[index + 1]) {
                result.append(token + "=" + arguments[index + 1])
                index += 2
            } else {
                result.append(token)
                index += 1
            }
        }
        return result
    }

    private static func isLongOptionWithoutValue(_ token: String) -> Bool {
        token.hasPrefix("--") && token.count > 2 && !token.contains("=")
    }

    /// `-5`, `-0.5`, `-.5`, `-1e-3`, `-inf`: anything after the minus sign that Double reads.
    private static func isNegativeNumber(_ token: String) -> Bool {
        guard token.hasPrefix("-"), token.count > 1, !token.hasPrefix("--") else { return false }
        return Double(token) != nil
    }
}
