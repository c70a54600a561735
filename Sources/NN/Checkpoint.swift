import Autograd
import Files
import Foundation
import Kernels

/// Everything needed to resume training exactly, stored as a directory:
///
///     model.safetensors      the weights (loadable on their own, e.g. for sampling)
///     ema.safetensors        the EMA weights, when an EMA is kept
///     optimizer.safetensors  AdamW moments `<param>.exp_avg`, `<param>.exp_avg_sq` (+ steps in metadata)
///     state.json             step, RNG states, LR schedule and its position, the caller's `Training` value
///
/// Saving is atomic as a whole: the files go to `DIR.tmp`, `state.json` last, then the old `DIR` is
/// moved aside to `DIR.old`, `DIR.tmp` becomes `DIR`, and `DIR.old` is removed. A crash at any point
/// leaves either the previous or the new checkpoint complete; `load` finishes an interrupted swap.
public struct TrainingCheckpoint<Training: Codable> {
    public var step: Int
    public var model: [String: Tensor]
    public var optimizer: AdamW.State
    public var ema: EMA.State?
    /// Named generator states (`RNG` is a counter-based generator: its state is its counter).
    public var rngs: [String: RNG]
    public var schedule: LRSchedule?
    /// The schedule's position (`lr(at:)` argument); usually equal to `step`.
    public var scheduleStep: Int
    /// Any Codable the caller needs back: its training configuration, running metrics, data position.
    public var training: Training
    /// The directory this checkpoint was loaded from (names files in `restore` errors).
    public private(set) var directory: String?

    public static var formatName: String { "t2ialign-training-checkpoint" }
    public static var formatVersion: Int { 1 }

    public init(step: Int, model: [String: Tensor], optimizer: AdamW.State, ema: EMA.State? = nil,
                rngs: [String: RNG] = [:], schedule: LRSchedule? = nil, scheduleStep: Int? = nil, training: Training) {
        self.step = step
        self.model = model
        self.optimizer = optimizer
        self.ema = ema
        self.rngs = rngs
        self.schedule = schedule
        self.scheduleStep = scheduleStep ?? step
        self.training = training
    }

    /// A snapshot of live training objects (copies, so training may continue while it is kept).
    public init(step: Int, model: any Module, optimizer: AdamW, ema: EMA? = nil, rngs: [String: RNG] = [:],
                schedule: LRSchedule? = nil, scheduleStep: Int? = nil, training: Training) {
        self.init(step: step, model: model.stateDict().mapValues { $0.copy() }, optimizer: optimizer.state(),
                  ema: ema?.state(), rngs: rngs, schedule: schedule, scheduleStep: scheduleStep, training: training)
    }

    // MARK: Files

    static var modelFile: String { "model.safetensors" }
    static var emaFile: String { "ema.safetensors" }
    static var optimizerFile: String { "optimizer.safetensors" }
    static var stateFile: String { "state.json" }

    /// What `state.json` holds.
    struct StateFile: Codable {
        var format: String
        var version: Int
        var step: Int
        var scheduleStep: Int
        var lrSchedule: LRSchedule?
        var rngs: [String: RNG]
        var hasEMA: Bool
        var training: Training
    }

    // MARK: Saving

    public func save(to directory: String) throws {
        let final = TrainingCheckpoint.normalized(directory)
        let tmp = final + ".tmp", old = final + ".old"
        let fm = FileManager.default

        try removeIfPresent(tmp)
        try AtomicFile.createDirectories(tmp)
        try writeFiles(into: tmp)
        AtomicFile.syncDirectory(tmp)

        if fm.fileExists(atPath: final) {
            try removeIfPresent(old)
            try move(final, to: old)
        }
        do {
            try move(tmp, to: final)
        } catch {
            try? move(old, to: final)  // put the previous checkpoint back
            throw error
        }
        AtomicFile.syncDirectory(URL(fileURLWithPath: final).deletingLastPathComponent().path)
        try removeIfPresent(old)
    }

    private func writeFiles(into dir: String) throws {
        func write(_ tensors: [String: Tensor], _ metadata: [String: String], _ file: String) throws {
            do {
                try SafeTensors.write(tensors, metadata: metadata, to: dir + "/" + file)
            } catch let e as SafeTensorsError {
                throw CheckpointError.writeFailed(path: e.file, reason: e.description)
            }
        }
        try write(model, ["step": String(step)], Self.modelFile)
        if let ema { try write(ema.shadow, ema.safetensorsMetadata, Self.emaFile) }
        try write(optimizer.safetensors, optimizer.safetensorsMetadata, Self.optimizerFile)
        // state.json last: its presence marks a complete checkpoint directory.
        let state = StateFile(format: Self.formatName, version: Self.formatVersion, step: step, scheduleStep: scheduleStep,
                              lrSchedule: schedule, rngs: rngs, hasEMA: ema != nil, training: training)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = dir + "/" + Self.stateFile
        let data: Data
        do {
            data = try encoder.encode(state)
        } catch {
            throw CheckpointError.invalidValue(file: path, key: "training", reason: "cannot be encoded as JSON: \(error)")
        }
        do {
            try AtomicFile.write(data, to: path)
        } catch let e as AtomicFileError {
            throw CheckpointError.writeFailed(path: path, reason: e.description)
        }
    }

    // MARK: Loading

    /// Reads and validates a checkpoint directory: every file present and well-formed, the optimizer
    /// and EMA tensors matching the model's names and shapes.
    public static func load(from directory: String) throws -> TrainingCheckpoint {
        let dir = normalized(directory)
        try recoverInterruptedSave(dir)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError.notFound(directory: dir)
        }

        let statePath = dir + "/" + stateFile
        guard FileManager.default.fileExists(atPath: statePath) else { throw CheckpointError.missingFile(file: statePath) }
        let state: StateFile
        do {
            state = try JSONDecoder().decode(StateFile.self, from: Data(contentsOf: URL(fileURLWithPath: statePath)))
        } catch let e as DecodingError {
            throw CheckpointError.invalidState(file: statePath, reason: describe(e))
        } catch {
            throw CheckpointError.invalidState(file: statePath, reason: "\(error)")
        }
        guard state.format == formatName else {
            throw CheckpointError.invalidState(file: statePath, reason: "format is \"\(state.format)\", expected \"\(formatName)\"")
        }
        guard state.version <= formatVersion else {
            throw CheckpointError.invalidState(file: statePath, reason: "format version \(state.version) is newer than this program's (\(formatVersion)); update t2ialign")
        }
        guard state.step >= 0, state.scheduleStep >= 0 else {
            throw CheckpointError.invalidState(file: statePath, reason: "negative step")
        }

        let model = try readSafeTensors(dir + "/" + modelFile).tensors
        let optimizerPath = dir + "/" + optimizerFile
        let (optimizerTensors, optimizerMetadata) = try readSafeTensors(optimizerPath)
        let optimizer = try AdamW.State(safetensors: optimizerTensors, metadata: optimizerMetadata, file: optimizerPath)
        try checkAgainstModel(optimizer.expAvg.map { ($0.key + ".exp_avg", $0.key, $0.value) }
                              + optimizer.expAvgSq.map { ($0.key + ".exp_avg_sq", $0.key, $0.value) },
                              model: model, file: optimizerPath)
        for name in optimizer.steps.keys where optimizer.expAvg[name] == nil || optimizer.expAvgSq[name] == nil {
            throw CheckpointError.missingTensor(file: optimizerPath, key: name + (optimizer.expAvg[name] == nil ? ".exp_avg" : ".exp_avg_sq"))
        }
        for name in optimizer.expAvg.keys where optimizer.steps[name] == nil {
            throw CheckpointError.invalidValue(file: optimizerPath, key: "__metadata__.\(name).step", reason: "missing step count")
        }

        var ema: EMA.State?
        let emaPath = dir + "/" + emaFile
        if state.hasEMA {
            let (emaTensors, emaMetadata) = try readSafeTensors(emaPath)
            let e = try EMA.State(safetensors: emaTensors, metadata: emaMetadata, file: emaPath)
            try checkAgainstModel(e.shadow.map { ($0.key, $0.key, $0.value) }, model: model, file: emaPath)
            ema = e
        }

        var checkpoint = TrainingCheckpoint(step: state.step, model: model, optimizer: optimizer, ema: ema, rngs: state.rngs,
                                            schedule: state.lrSchedule, scheduleStep: state.scheduleStep, training: state.training)
        checkpoint.directory = dir
        return checkpoint
    }

    /// Whether `directory` holds a checkpoint that `load` can read, including one whose save was
    /// interrupted between its two renames (use this rather than testing for `state.json`).
    public static func exists(at directory: String) -> Bool {
        let dir = normalized(directory)
        let fm = FileManager.default
        if fm.fileExists(atPath: dir + "/" + stateFile) { return true }
        return !fm.fileExists(atPath: dir)
            && (fm.fileExists(atPath: dir + ".tmp/" + stateFile) || fm.fileExists(atPath: dir + ".old/" + stateFile))
    }

    /// Puts the checkpoint into live objects. Every model parameter must be present with its shape and
    /// the file must hold no others; errors name the file and key.
    public func restore(model module: any Module, optimizer: AdamW? = nil, ema: EMA? = nil) throws {
        let base = directory.map { $0 + "/" } ?? ""
        let modelPath = base + Self.modelFile
        let parameters = module.namedParameters()
        for (name, p) in parameters {
            guard let t = model[name] else { throw CheckpointError.missingTensor(file: modelPath, key: name) }
            guard t.shape == p.shape else {
                throw CheckpointError.shapeMismatch(file: modelPath, key: name, expected: p.shape, found: t.shape)
            }
        }
        let known = Set(parameters.map(\.0))
        if let extra = model.keys.filter({ !known.contains($0) }).sorted().first {
            throw CheckpointError.unexpectedTensor(file: modelPath, key: extra,
                                                   hint: "the model has no parameter of that name; check the model configuration")
        }
        if let ema {
            guard let state = self.ema else {
                throw CheckpointError.missingFile(file: base + Self.emaFile)
            }
            try ema.load(state: state, source: base + Self.emaFile)
        }
        try optimizer?.load(state: self.optimizer, source: base + Self.optimizerFile)
        for (name, p) in parameters {
            if let t = model[name] { p.assign(t) }
        }
    }

    // MARK: Helpers

    /// After a crash between the two renames of `save`, `DIR` is missing: the complete `DIR.tmp` (it has
    /// `state.json`, written last) becomes `DIR`, or else the previous `DIR.old` is put back.
    static func recoverInterruptedSave(_ dir: String) throws {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: dir) else { return }
        let tmp = dir + ".tmp", old = dir + ".old"
        if fm.fileExists(atPath: tmp + "/" + stateFile) {
            try move(tmp, to: dir)
        } else if fm.fileExists(atPath: old + "/" + stateFile) {
            try move(old, to: dir)
        }
    }

    private static func readSafeTensors(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        do {
            return try SafeTensors.read(path)
        } catch let e as SafeTensorsError {
            if e.problem == .fileNotFound { throw CheckpointError.missingFile(file: path) }
            throw CheckpointError.corruptFile(e)
        }
    }

    /// Optimizer and EMA tensors must belong to model parameters of the same shape.
    private static func checkAgainstModel(_ entries: [(key: String, name: String, tensor: Tensor)], model: [String: Tensor],
                                          file: String) throws {
        for e in entries.sorted(by: { $0.key < $1.key }) {
            guard let m = model[e.name] else {
                throw CheckpointError.unexpectedTensor(file: file, key: e.key,
                                                       hint: "\(modelFile) has no parameter \(e.name); the files are from different runs")
            }
            guard m.shape == e.tensor.shape else {
                throw CheckpointError.shapeMismatch(file: file, key: e.key, expected: m.shape, found: e.tensor.shape)
            }
        }
    }

    static func normalized(_ directory: String) -> String {
        var d = directory
        while d.count > 1 && d.hasSuffix("/") { d.removeLast() }
        return d
    }

    private func removeIfPresent(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw CheckpointError.writeFailed(path: path, reason: "cannot remove it: \(error.localizedDescription)")
        }
    }

    private func move(_ from: String, to: String) throws { try Self.move(from, to: to) }

    private static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else {
            throw CheckpointError.writeFailed(path: to, reason: "cannot rename \(from) to it: \(String(cString: strerror(errno)))")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let ctx): return "\(path(ctx.codingPath)): expected \(type)"
        case .valueNotFound(let type, let ctx): return "\(path(ctx.codingPath)): missing \(type) value"
        case .keyNotFound(let key, let ctx): return "\(path(ctx.codingPath + [key])): missing"
        case .dataCorrupted(let ctx):
            return "\(path(ctx.codingPath)): \(ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription) — the file is corrupt or truncated"
        @unknown default: return "\(error)"
        }
    }
}

/// A checkpoint that cannot be written, found, or trusted: which file (and key), and what to do.
public enum CheckpointError: Error, CustomStringConvertible, LocalizedError {
    case notFound(directory: String)
    case missingFile(file: String)
    case corruptFile(SafeTensorsError)
    case invalidState(file: String, reason: String)
    case missingTensor(file: String, key: String)
    case unexpectedTensor(file: String, key: String, hint: String)
    case shapeMismatch(file: String, key: String, expected: [Int], found: [Int])
    case invalidValue(file: String, key: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let dir):
            return "no checkpoint at \(dir) (expected a directory with model.safetensors, optimizer.safetensors and state.json); check the path"
        case .missingFile(let file):
            return "checkpoint file \(file) is missing; the checkpoint is incomplete — use an earlier one"
        case .corruptFile(let e):
            return "checkpoint is damaged: \(e.description)"
        case .invalidState(let file, let reason):
            return "checkpoint state \(file) is invalid: \(reason)"
        case .missingTensor(let file, let key):
            return "\(file) lacks tensor \(key); the checkpoint is incomplete or for another model configuration"
        case .unexpectedTensor(let file, let key, let hint):
            return "\(file) has unexpected tensor \(key): \(hint)"
        case .shapeMismatch(let file, let key, let expected, let found):
            return "\(file): tensor \(key) has shape \(found), expected \(expected); the checkpoint is for another model configuration"
        case .invalidValue(let file, let key, let reason):
            return "\(file): \(key) is invalid: \(reason)"
        case .writeFailed(let path, let reason):
            return "cannot write checkpoint \(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
