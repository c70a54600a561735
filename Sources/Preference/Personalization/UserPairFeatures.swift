import Autograd
import Datasets
import Foundation
import Scoring

extension UserEncoder {
    /// Δs = s(first) − s(second) of the frozen scorer for pairs of images at its resolution, without a graph.
    public func scoreDifferences(first: Tensor, second: Tensor, prompts: [String], batchSize: Int = 256) throws -> [Double] {
        guard let scorer else { throw PersonalizationError.input("internal: the user encoder has no scorer") }
        let n = prompts.count
        guard n > 0 else { return [] }
        let sizes = stride(from: 0, to: n, by: batchSize).map { min(batchSize, n - $0) }
        let firsts = split(first, sizes: sizes, axis: 0), seconds = split(second, sizes: sizes, axis: 0)
        var out: [Double] = []
        out.reserveCapacity(n)
        try GradMode.withoutGrad {
            var start = 0
            for (i, b) in sizes.enumerated() {
                let (a, c) = try scorer.pairScores(first: firsts[i], second: seconds[i], prompts: Array(prompts[start..<(start + b)]))
                out += zip(a.toArray(), c.toArray()).map { Double($0 - $1) }
                start += b
            }
        }
        return out
    }

    /// ψ(first) − ψ(second) per pair [N][D], without a graph.
    public func tasteDifferences(first: Tensor, second: Tensor) throws -> [[Double]] {
        guard first.shape == second.shape, first.rank == 4 else {
            throw PersonalizationError.input("pair images \(first.shape) and \(second.shape) must both be [N, 3, S, S]")
        }
        let n = first.shape[0], d = config.embeddingDim
        let f = try GradMode.withoutGrad { try features(concat([first, second], axis: 0)) }.toArray()
        return (0..<n).map { i in (0..<d).map { Double(f[i * d + $0] - f[(n + i) * d + $0]) } }
    }

    /// The user model's view of pairs given as images (first/winner, second/loser), prompts and targets.
    public func pairFeatures(first: Tensor, second: Tensor, prompts: [String], targets: [Double]) throws -> [UserPairFeature] {
        let ds = try scoreDifferences(first: first, second: second, prompts: prompts)
        let dpsi = try tasteDifferences(first: first, second: second)
        return targets.indices.map { UserPairFeature(scoreDifference: ds[$0], tasteDifference: dpsi[$0], target: targets[$0]) }
    }
}

/// The user model's view of a dataset's pairs (winner first; target 1, or ½ for a tie).
public enum UserPairFeatures {
    /// Features of `pairs` (indices into `dataset`), decoded and encoded in chunks to bound memory.
    public static func compute(dataset: PairDataset, pairs: [Int], encoder: UserEncoder, chunk: Int = 1024) throws -> [UserPairFeature] {
        var out: [UserPairFeature] = []
        out.reserveCapacity(pairs.count)
        var start = 0
        while start < pairs.count {
            let part = Array(pairs[start..<min(start + chunk, pairs.count)])
            let rows = try part.map { try dataset.pair(at: $0) }
            let images = try PairImages.load(dataset, pairs: part, resolution: encoder.config.sampleSize)
            out += try encoder.pairFeatures(first: images.winners, second: images.losers, prompts: rows.map(\.prompt),
                                            targets: rows.map { $0.isTie ? 0.5 : 1 })
            start += chunk
        }
        return out
    }
}
