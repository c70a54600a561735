import Foundation

/// Reading the config.json files of diffusers and transformers: they carry many keys for features this
/// package does not implement. A key we ignore must hold its default, or loading fails with a message
/// naming it, so a checkpoint of another architecture never loads silently into the wrong network.

/// Any JSON value, for comparing a config key against its accepted defaults.
enum ConfigJSONValue: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigJSONValue])
    case object

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([ConfigJSONValue].self) { self = .array(a) }
        else { self = .object }
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object: return "{…}"
        }
    }
}

/// A dynamic coding key, so one container reads any key by name.
struct ConfigKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where Key == ConfigKey {
    /// The value of `key`, or `fallback` when the key is absent or null (the library default).
    func value<T: Decodable>(_ key: String, default fallback: T) throws -> T {
        do {
            return try decodeIfPresent(T.self, forKey: ConfigKey(key)) ?? fallback
        } catch {
            throw ModelConfigError.invalid(key: key, reason: "expected \(T.self)")
        }
    }

    /// An integer that configs write either once for every level or as a per-level list.
    func perLevel(_ key: String, levels: Int, default fallback: Int) throws -> [Int] {
        if let one = try? decodeIfPresent(Int.self, forKey: ConfigKey(key)) { return Array(repeating: one, count: levels) }
        if let list = try? decodeIfPresent([Int].self, forKey: ConfigKey(key)) {
            guard list.count == levels else {
                throw ModelConfigError.invalid(key: key, reason: "has \(list.count) entries for \(levels) levels (block_out_channels)")
            }
            return list
        }
        guard (try? decodeNil(forKey: ConfigKey(key))) ?? true else {
            throw ModelConfigError.invalid(key: key, reason: "expected an integer or a list of integers")
        }
        return Array(repeating: fallback, count: levels)
    }

    /// Fails unless `key` is absent or holds one of `accepted` (the values this package implements).
    func requireDefault(_ key: String, _ accepted: [ConfigJSONValue], feature: String) throws {
        guard contains(ConfigKey(key)) else { return }
        let v = (try? decode(ConfigJSONValue.self, forKey: ConfigKey(key))) ?? .object
        guard accepted.contains(v) else {
            throw ModelConfigError.unsupported(key: key, value: v.description,
                                               hint: "\(feature) is not implemented; use \(accepted[0].description)")
        }
    }
}

public enum ModelConfigError: Error, CustomStringConvertible, Equatable {
    /// A key set to a feature this package does not implement.
    case unsupported(key: String, value: String, hint: String)
    /// A value that is malformed or inconsistent with the rest of the config.
    case invalid(key: String, reason: String)
    /// The file could not be read or is not a JSON object.
    case unreadable(path: String, reason: String)
    /// A named preset that does not exist.
    case unknownPreset(String, known: [String])

    public var description: String {
        switch self {
        case .unsupported(let k, let v, let hint):
            return "config key \"\(k)\" = \(v) is not supported: \(hint)"
        case .invalid(let k, let reason):
            return "config key \"\(k)\" \(reason); fix the config.json or use a preset"
        case .unreadable(let path, let reason):
            return "cannot read model config \(path): \(reason)"
        case .unknownPreset(let name, let known):
            return "unknown model preset \"\(name)\"; choose one of \(known.joined(separator: ", "))"
        }
    }
}

/// Loading and writing a Codable config as a config.json file.
enum ConfigFile {
    static func load<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelConfigError.unreadable(path: path, reason: "the file is missing or unreadable")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let e as ModelConfigError {
            throw e
        } catch {
            throw ModelConfigError.unreadable(path: path, reason: "not a JSON object (\(error.localizedDescription))")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }
}
