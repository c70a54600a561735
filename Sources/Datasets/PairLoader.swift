import Kernels

/// Where a `PairLoader` stands: the epoch and the index (into that epoch's shuffled order) of the next
/// pair. Save it in a checkpoint; a loader created with the same dataset, seed and batch size at this
/// position yields exactly the batches the interrupted run would have.
public struct LoaderPosition: Codable, Sendable, Equatable {
    public var epoch: Int
    public var offset: Int

    public init(epoch: Int = 0, offset: Int = 0) {
        self.epoch = epoch
        self.offset = offset
    }

    public static let start = LoaderPosition()
}

/// Serves `PairBatch`es from a `PairDataset` epoch after epoch: a seeded shuffle per epoch, optional
/// random horizontal flips, images decoded and transformed on all cores.
///
/// Everything random is a pure function of (seed, epoch, pair index) through the counter-based `RNG`,
/// so batches do not depend on thread count or timing, and `position` resumes exactly. A flip mirrors
/// both images of a pair together (as diffusers' DPO script flips the stacked pair), so the two stay
/// comparable. With a lenient dataset, a pair whose image fails to load is skipped, recorded in
/// `imageFailures`, and replaced by the next pair of the order.
public final class PairLoader {
    public let dataset: PairDataset
    public let batchSize: Int
    public let seed: UInt64
    public let shuffle: Bool
    public let flip: Bool
    /// Drop an epoch's last incomplete batch (the default) instead of returning a smaller one.
    public let dropLast: Bool
    /// The dataset's pair indices this loader serves (every pair unless a subset was given).
    public let pool: [Int]
    public private(set) var position: LoaderPosition
    /// Pairs skipped at batch time because an image failed to load (lenient datasets only).
    public private(set) var imageFailures: [RowError] = []

    private var order: [Int] = []
    private var orderEpoch = -1

    /// RNG streams, one per purpose.
    static let shuffleStream: UInt64 = 0x5348_5546  // "SHUF"
    static let flipStream: UInt64 = 0x464C_4950     // "FLIP"

    /// `pool`: serve only these pair indices of `dataset` (shuffled among themselves); nil for all pairs.
    public init(dataset: PairDataset, batchSize: Int, seed: UInt64, shuffle: Bool = true, flip: Bool = false,
                dropLast: Bool = true, position: LoaderPosition = .start, pool: [Int]? = nil) throws {
        guard batchSize > 0 else { throw DatasetError.invalidArgument("batch size must be positive, got \(batchSize)") }
        guard dataset.count > 0 else {
            throw DatasetError.noPairs(file: dataset.file, detail: "\(dataset.report.rows) rows, \(dataset.report.skipped) skipped")
        }
        if let pool {
            guard !pool.isEmpty else { throw DatasetError.noPairs(file: dataset.file, detail: "the selected subset of pairs is empty") }
            guard pool.allSatisfy({ (0..<dataset.count).contains($0) }) else {
                throw DatasetError.invalidArgument("a pair subset names indices outside the \(dataset.count) pairs of \(dataset.file)")
            }
        }
        let count = pool?.count ?? dataset.count
        if dropLast && count < batchSize {
            throw DatasetError.invalidArgument(
                "batch size \(batchSize) is larger than the \(count) usable pairs of \(dataset.file): "
                + "lower the batch size (or keep the last incomplete batch)")
        }
        guard position.epoch >= 0, position.offset >= 0, position.offset <= count else {
            throw DatasetError.invalidArgument(
                "loader position epoch \(position.epoch), offset \(position.offset) does not fit \(count) pairs "
                + "(was the checkpoint made with another dataset?)")
        }
        self.pool = pool ?? Array(0..<dataset.count)
        self.dataset = dataset
        self.batchSize = batchSize
        self.seed = seed
        self.shuffle = shuffle
        self.flip = flip
        self.dropLast = dropLast
        self.position = position
    }

    /// Full batches per epoch (plus one partial batch when `dropLast` is off and pairs remain).
    public var batchesPerEpoch: Int {
        dropLast ? pool.count / batchSize : (pool.count + batchSize - 1) / batchSize
    }

    /// The order in which epoch `epoch` visits the pairs: a Fisher–Yates shuffle seeded by (seed, epoch).
    public static func order(count: Int, seed: UInt64, epoch: Int, shuffle: Bool = true) -> [Int] {
        var order = Array(0..<count)
        guard shuffle, count > 1 else { return order }
        var rng = RNG(seed: seed, stream: shuffleStream).derived(stream: UInt64(epoch))
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, rng.nextInt(below: i + 1))
        }
        return order
    }

    /// Whether pair `index` is mirrored in epoch `epoch` (one Philox block per (epoch, pair)).
    public static func flips(seed: UInt64, epoch: Int, index: Int) -> Bool {
        let rng = RNG(seed: seed, stream: flipStream)
        return rng.block(UInt64(truncatingIfNeeded: epoch) << 40 ^ UInt64(index)).0 & 1 == 1
    }

    /// The next batch, moving into the next epoch when this one is used up.
    public func next() throws -> PairBatch {
        var emptyEpochs = 0
        while true {
            if orderEpoch != position.epoch {
                let pool = self.pool
                order = PairLoader.order(count: pool.count, seed: seed, epoch: position.epoch, shuffle: shuffle).map { pool[$0] }
                orderEpoch = position.epoch
            }
            let left = order.count - position.offset
            if left <= 0 || (dropLast && left < batchSize) {
                position = LoaderPosition(epoch: position.epoch + 1, offset: 0)
                continue
            }
            let (batch, consumed) = try assemble(from: position.offset)
            if let batch, dropLast ? batch.size == batchSize : batch.size > 0 {
                position.offset += consumed
                return batch
            }
            // Not enough loadable pairs left in this epoch (lenient skips).
            if position.offset == 0 {
                emptyEpochs += 1
                if emptyEpochs > 1 {
                    throw DatasetError.noPairs(file: dataset.file, detail: "no pair's images could be loaded")
                }
            }
            position = LoaderPosition(epoch: position.epoch + 1, offset: 0)
        }
    }

    /// Fills a batch from order[start...]; returns it (nil when nothing loaded) and the order entries used.
    private func assemble(from start: Int) throws -> (PairBatch?, Int) {
        let stride = 3 * dataset.resolution * dataset.resolution
        var winners = [Float](repeating: 0, count: batchSize * stride)
        var losers = [Float](repeating: 0, count: batchSize * stride)
        var pairs: [(index: Int, pair: PreferencePair, flipped: Bool)] = []
        var cursor = start
        while pairs.count < batchSize && cursor < order.count {
            let wanted = min(batchSize - pairs.count, order.count - cursor)
            let indices = Array(order[cursor..<(cursor + wanted)])
            cursor += wanted
            let flips = indices.map { flip && PairLoader.flips(seed: seed, epoch: position.epoch, index: $0) }
            let base = pairs.count
            var results = [Result<PreferencePair, Error>?](repeating: nil, count: wanted)
            let dataset = self.dataset
            winners.withUnsafeMutableBufferPointer { w in
                losers.withUnsafeMutableBufferPointer { l in
                    results.withUnsafeMutableBufferPointer { r in
                        let (wb, lb, rb) = (UncheckedSendable(w), UncheckedSendable(l), UncheckedSendable(r))
                        Threading.parallelFor(wanted) { j in
                            do {
                                let pair = try dataset.pair(at: indices[j])
                                let images = try dataset.images(of: pair)
                                let slot = (base + j) * stride
                                dataset.transform.writeModelInput(images.winner, flip: flips[j], to: wb.value.baseAddress! + slot)
                                dataset.transform.writeModelInput(images.loser, flip: flips[j], to: lb.value.baseAddress! + slot)
                                rb.value[j] = .success(pair)
                            } catch {
                                rb.value[j] = .failure(error)
                            }
                        }
                    }
                }
            }
            // Keep successes in order, compacting over skipped pairs.
            for j in 0..<wanted {
                switch results[j] {
                case .success(let pair)?:
                    let from = (base + j) * stride, to = pairs.count * stride
                    if from != to {
                        for k in 0..<stride { winners[to + k] = winners[from + k]; losers[to + k] = losers[from + k] }
                    }
                    pairs.append((indices[j], pair, flips[j]))
                case .failure(let error)?:
                    if dataset.options.lenient, let d = error as? DatasetError, case .malformedRow(let e) = d,
                       e.defect == .missingImage || e.defect == .undecodableImage {
                        imageFailures.append(e)
                    } else {
                        throw error
                    }
                case nil:
                    throw DatasetError.invalidArgument("internal: batch slot \(j) was not filled")
                }
            }
        }
        guard !pairs.isEmpty else { return (nil, cursor - start) }
        let n = pairs.count
        winners.removeLast((batchSize - n) * stride)
        losers.removeLast((batchSize - n) * stride)
        let batch = PairBatch(
            size: n, resolution: dataset.resolution, winners: winners, losers: losers,
            prompts: pairs.map(\.pair.prompt),
            winnerCaptions: pairs.map(\.pair.winnerCaption), loserCaptions: pairs.map(\.pair.loserCaption),
            userIDs: pairs.map(\.pair.userID), isTie: pairs.map(\.pair.isTie),
            examplesPerPrompt: pairs.map(\.pair.numExamplePerPrompt),
            pairIndices: pairs.map(\.index), lines: pairs.map(\.pair.line), flipped: pairs.map(\.flipped))
        return (batch, cursor - start)
    }
}
