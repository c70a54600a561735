/// Errors of the Shapes world; each names the input at fault and says what to do.
public enum ShapesWorldError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A prompt outside the grammar `a [SIZE ]COLOR SHAPE[ POSITION] on a BG background`.
    case unparsablePrompt(prompt: String, reason: String)
    /// A render size below the minimum.
    case imageTooSmall(size: Int, minimum: Int)
    /// The oracle measures square images only.
    case notSquare(source: String, width: Int, height: Int)
    /// An image too small to measure.
    case imageTooSmallToMeasure(source: String, size: Int, minimum: Int)
    /// A generator name that is not `render-good` / `render-sloppy`.
    case unknownGenerator(String)
    /// A user id not present in the population.
    case unknownUser(id: Int, available: String)
    /// A bad synthesis setting (names the field).
    case invalidConfiguration(field: String, reason: String)
    /// A users file that cannot be read (names the file).
    case invalidUsersFile(path: String, reason: String)
    /// A file that cannot be written.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .unparsablePrompt(let prompt, let reason):
            return "prompt \"\(prompt)\" is not in the Shapes grammar (\(reason)). Write it as "
                + "`a [small|large ]COLOR SHAPE[ POSITION] on a BG background`, COLOR and BG from "
                + PaletteColour.allCases.map(\.rawValue).joined(separator: "/") + " (BG ≠ COLOR), SHAPE from "
                + ShapeKind.allCases.map(\.rawValue).joined(separator: "/") + ", POSITION one of "
                + ShapePosition.allCases.map { "\"\($0.phrase)\"" }.joined(separator: ", ")
                + "; e.g. \"a large red circle at the top left on a blue background\"."
        case .imageTooSmall(let size, let minimum):
            return "render size \(size) is too small: the Shapes renderer needs S ≥ \(minimum) (default 32)."
        case .notSquare(let source, let width, let height):
            return "\(source): the image is \(width)×\(height); the Shapes oracle measures square images. "
                + "Crop or resize it to a square first."
        case .imageTooSmallToMeasure(let source, let size, let minimum):
            return "\(source): the image is \(size)×\(size); the oracle needs at least \(minimum)×\(minimum) pixels."
        case .unknownGenerator(let name):
            return "unknown generator \"\(name)\": use one of "
                + Generator.all.map(\.name).joined(separator: ", ") + "."
        case .unknownUser(let id, let available):
            return "user \(id) is not in the user population (available: \(available)). "
                + "Use --user 0 for the population user, or pass the dataset whose users.json defines the user."
        case .invalidConfiguration(let field, let reason):
            return "\(field): \(reason)"
        case .invalidUsersFile(let path, let reason):
            return "\(path): \(reason). Regenerate the dataset with `t2ialign data synth`, "
                + "or give the user's weights directly with --user-weights."
        case .io(let path, let reason):
            return "\(path): \(reason). Check that the directory is writable and the disk is not full."
        }
    }
}
