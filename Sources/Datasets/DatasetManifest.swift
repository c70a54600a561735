import Foundation

/// `DATASET/dataset.json`: `{"format": "pickapic-pairs", "version": 1, "resolution": 32, ...}`.
///
/// `splits` (written by `DatasetWriter`) maps each split to its row count; other keys are free
/// metadata, kept as strings (non-string values are kept as their JSON text).
public struct DatasetManifest: Equatable, Sendable {
    public static let formatName = "pickapic-pairs"
    public static let currentVersion = 1
    public static let fileName = "dataset.json"

    public var format: String
    public var version: Int
    /// The model resolution the images are meant for (readers resize to it).
    public var resolution: Int
    /// Split name → rows written, when known.
    public var splits: [String: Int]
    public var metadata: [String: String]

    public init(resolution: Int, splits: [String: Int] = [:], metadata: [String: String] = [:]) {
        self.format = DatasetManifest.formatName
        self.version = DatasetManifest.currentVersion
        self.resolution = resolution
        self.splits = splits
        self.metadata = metadata
    }

    static let reservedKeys: Set<String> = ["format", "version", "resolution", "splits"]

    /// Reads and validates `directory/dataset.json`.
    public static func read(directory: String) throws -> DatasetManifest {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else { throw DatasetError.missingManifest(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError.io(path: path, reason: "cannot be read (permissions?)")
        }
        let value: JSONValue
        do { value = try JSONValue.parse(data) } catch {
            throw DatasetError.invalidManifest(path: path, reason: "not valid JSON")
        }
        guard case .object(let object) = value else {
            throw DatasetError.invalidManifest(path: path, reason: "must be a JSON object, found \(value.typeName)")
        }
        guard let formatValue = object["format"] else {
            throw DatasetError.invalidManifest(path: path, reason: "missing key \"format\"")
        }
        guard case .string(let format) = formatValue else {
            throw DatasetError.invalidManifest(path: path, reason: "\"format\" must be a string, found \(formatValue.typeName)")
        }
        guard format == formatName else { throw DatasetError.unknownFormat(path: path, found: format) }
        guard let version = object["version"]?.intValue else {
            throw DatasetError.invalidManifest(path: path, reason: "missing or non-integer \"version\"")
        }
        guard version == currentVersion else { throw DatasetError.unsupportedVersion(path: path, found: version) }
        guard let resolution = object["resolution"]?.intValue, resolution > 0 else {
            throw DatasetError.invalidManifest(path: path, reason: "\"resolution\" must be a positive integer")
        }
        var splits: [String: Int] = [:]
        if case .object(let s)? = object["splits"] {
            for (name, count) in s { if let n = count.intValue { splits[name] = n } }
        }
        var metadata: [String: String] = [:]
        for (key, v) in object where !reservedKeys.contains(key) {
            if case .string(let s) = v { metadata[key] = s } else { metadata[key] = v.jsonText }
        }
        var m = DatasetManifest(resolution: resolution, splits: splits, metadata: metadata)
        m.format = format
        m.version = version
        return m
    }

    /// The manifest as pretty JSON with sorted keys (stable diffs).
    public func encoded() throws -> Data {
        var object: [String: Any] = [:]
        for (k, v) in metadata { object[k] = v }
        object["format"] = format
        object["version"] = version
        object["resolution"] = resolution
        object["splits"] = splits
        return try JSONSerialization.data(withJSONObject: object,
                                          options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// Split names present as `NAME.jsonl` files in the directory, sorted.
    public static func splitFiles(directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".jsonl") && !$0.hasPrefix(".") }
            .map { String($0.dropLast(".jsonl".count)) }
            .sorted()
    }
}

extension JSONValue {
    /// Compact JSON text (for metadata values that are not strings).
    var jsonText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s):
            let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data()
            let text = String(decoding: data, as: UTF8.self)
            return String(text.dropFirst().dropLast())
        case .array(let a): return "[" + a.map(\.jsonText).joined(separator: ",") + "]"
        case .object(let o):
            return "{" + o.keys.sorted().map { JSONValue.string($0).jsonText + ":" + (o[$0]?.jsonText ?? "null") }
                .joined(separator: ",") + "}"
        }
    }
}
