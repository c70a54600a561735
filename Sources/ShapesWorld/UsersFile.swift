import Files
import Foundation

/// `DATASET/users.json`: the simulated users of a synthesized dataset (ids, archetypes, weights, held-out
/// flags, pair counts), so scorers and evaluations can compute any user's reward r_u later.
/// `{"format": "shapes-users", "version": 1, "users": [{"user_id": 0, "weights": {...}, ...}, ...]}`.
public enum UsersFile {
    public static let fileName = "users.json"
    public static let formatName = "shapes-users"
    public static let version = 1

    struct Document: Codable {
        var format: String
        var version: Int
        var users: [SimulatedUser]
    }

    /// Writes the file atomically.
    public static func write(_ users: [SimulatedUser], directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(Document(format: formatName, version: version, users: users))
        try AtomicFile.write(data, to: (directory as NSString).appendingPathComponent(fileName))
    }

    /// Reads `path` (a users.json, or a dataset directory holding one).
    public static func read(_ path: String) throws -> [SimulatedUser] {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let file = exists && isDirectory.boolValue ? (path as NSString).appendingPathComponent(fileName) : path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ShapesWorldError.invalidUsersFile(
                path: file, reason: FileManager.default.fileExists(atPath: file) ? "cannot be read" : "not found")
        }
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: data) } catch {
            throw ShapesWorldError.invalidUsersFile(path: file, reason: "not a valid users file (\(decodingReason(error)))")
        }
        guard document.format == formatName else {
            throw ShapesWorldError.invalidUsersFile(path: file, reason: "format is \"\(document.format)\", expected \"\(formatName)\"")
        }
        guard document.version == version else {
            throw ShapesWorldError.invalidUsersFile(path: file, reason: "version \(document.version) is not supported (expected \(version))")
        }
        return document.users
    }

    /// The user with `id` from a list, or `unknownUser` listing the ids there are.
    public static func user(_ id: Int, in users: [SimulatedUser]) throws -> SimulatedUser {
        if let u = users.first(where: { $0.id == id }) { return u }
        let ids = users.map(\.id).sorted()
        let available = ids.isEmpty ? "none" : ids.count > 6
            ? "\(ids[0])…\(ids[ids.count - 1]) (\(ids.count) users)" : ids.map(String.init).joined(separator: ", ")
        throw ShapesWorldError.unknownUser(id: id, available: available)
    }

    /// The decoder's explanation, shortened to the key path and the problem.
    static func decodingReason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let c):
            return "missing key \"\(key.stringValue)\" at \(path(c.codingPath))"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "wrong type at \(path(c.codingPath)): \(c.debugDescription)"
        case DecodingError.dataCorrupted(let c):
            return c.codingPath.isEmpty ? "not JSON" : "bad value at \(path(c.codingPath)): \(c.debugDescription)"
        default:
            return "\(error)"
        }
    }

    static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
