import Autograd
import Datasets
import Foundation
import Kernels

/// The pairs of a split grouped by the user who judged them, for drawing few-shot support sets.
///
/// Support pairs must carry a direction, so only non-tie pairs are `supportPairs`; ties (kept when the
/// dataset keeps them) can still be queries. Indices refer to `dataset`'s usable pairs.
public final class UserPairIndex {
    public let dataset: PairDataset
    /// user → indices of every usable pair, in file order.
    public let pairsByUser: [Int: [Int]]
    /// user → indices of the non-tie pairs, in file order.
    public let supportPairsByUser: [Int: [Int]]
    /// Per pair index: whether it is a tie.
    public let isTie: [Bool]

    /// Reads every row of `dataset` once.
    public init(dataset: PairDataset) throws {
        self.dataset = dataset
        var all: [Int: [Int]] = [:], support: [Int: [Int]] = [:]
        var ties = [Bool](repeating: false, count: dataset.count)
        for i in 0..<dataset.count {
            let row = try dataset.row(at: i)
            all[row.userID, default: []].append(i)
            if row.isTie { ties[i] = true } else { support[row.userID, default: []].append(i) }
        }
        pairsByUser = all
        supportPairsByUser = support
        isTie = ties
    }

    public var users: [Int] { pairsByUser.keys.sorted() }

    var source: String { dataset.file }

    /// Every pair of `user`; an unknown user is an error listing the users there are.
    public func pairs(of user: Int) throws -> [Int] {
        guard let p = pairsByUser[user] else {
            throw PersonalizationError.unknownUser(id: user, source: source, available: PersonalizationError.describe(ids: users))
        }
        return p
    }

    /// The non-tie pairs of `user`, at least `need` of them (else a `tooFewPairs` error carrying `hint`).
    public func supportPairs(of user: Int, need: Int,
                             hint: String = "give more labelled (non-tie) pairs for this user, or lower the number of shots K") throws -> [Int] {
        _ = try pairs(of: user)
        let p = supportPairsByUser[user] ?? []
        guard p.count >= need else {
            throw PersonalizationError.tooFewPairs(user: user, have: p.count, need: need, source: source, hint: hint)
        }
        return p
    }

    /// `shots` distinct non-tie pairs of `user` other than `excluding`, drawn with `rng` (a partial
    /// Fisher–Yates shuffle; the draw depends only on the RNG state and the user's pair list).
    public func drawSupport(user: Int, shots: Int, excluding: Int? = nil, rng: inout RNG) throws -> [Int] {
        let candidates = try supportPairs(of: user, need: 0).filter { $0 != excluding }
        guard candidates.count >= shots else {
            throw PersonalizationError.tooFewPairs(
                user: user, have: candidates.count, need: shots, source: source,
                hint: excluding == nil ? "lower the number of shots K" :
                    "each pair's embedding comes from K other pairs of its user: lower --user-shots, or leave the user out with --users")
        }
        return Self.draw(shots, from: candidates, rng: &rng)
    }

    /// `count` distinct elements of `items` in draw order.
    static func draw(_ count: Int, from items: [Int], rng: inout RNG) -> [Int] {
        var pool = items
        for i in 0..<count { pool.swapAt(i, i + rng.nextInt(below: pool.count - i)) }
        return Array(pool[0..<count])
    }
}

/// Decoding the images of pairs into model input tensors.
public enum PairImages {
    /// Winner and loser images of the given pairs as [N, 3, R, R] tensors in [−1, 1] (R = `resolution`,
    /// or the dataset's), decoded on all cores.
    public static func load(_ dataset: PairDataset, pairs indices: [Int], resolution: Int? = nil) throws -> (winners: Tensor, losers: Tensor) {
        let transform = try resolution.map { try ImageTransform(resolution: $0) } ?? dataset.transform
        let r = transform.resolution, stride = 3 * r * r, n = indices.count
        let winners = Tensor.uninitialized([n, 3, r, r]), losers = Tensor.uninitialized([n, 3, r, r])
        var failures = [Error?](repeating: nil, count: n)
        let w = UncheckedSendable(winners.data), l = UncheckedSendable(losers.data)
        failures.withUnsafeMutableBufferPointer { f in
            let fb = UncheckedSendable(f)
            Threading.parallelFor(n) { j in
                do {
                    let pair = try dataset.pair(at: indices[j])
                    let images = try dataset.images(of: pair)
                    transform.writeModelInput(images.winner, to: w.value + j * stride)
                    transform.writeModelInput(images.loser, to: l.value + j * stride)
                } catch {
                    fb.value[j] = error
                }
            }
        }
        if let e = failures.compactMap({ $0 }).first { throw e }
        return (winners, losers)
    }
}
