/// swift-argument-parser reads `--steps -5` as the option `--steps` followed by a flag `-5`, and answers
/// "Missing value for '--steps'", which hides the real problem. Joining the two into `--steps=-5` lets the
/// value reach the command's own validation ("--steps must be positive"), and lets a list that starts with a
/// negative number (`--user-weights -0.5,-1.5,-0.5,-0.5`) through. Only a long option directly followed by
/// such a token is joined; everything after `--` is left alone.
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

    /// `-5`, `-0.5`, `-.5`, `-1e-3`, `-inf` (what Double reads), or a comma-separated list of numbers whose
    /// first is negative (`-0.5,1.5`).
    private static func isNegativeNumber(_ token: String) -> Bool {
        guard token.hasPrefix("-"), token.count > 1, !token.hasPrefix("--") else { return false }
        return token.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { Double($0) != nil }
    }
}
