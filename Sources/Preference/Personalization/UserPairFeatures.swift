import Autograd
import Datasets
import Foundation
import Scoring

extension UserEncoder {
    /// Δs = s(first) − s(second) of the frozen scorer for pairs of images at its resolution, without a graph.
    public func scoreDifferences(first: Tensor, second: Tensor, prompts: [String], batchSize: Int = 256) throws -> [Double] {
        guard let scorer else { throw PersonalizationError.input("internal: the user encoder has no scorer") }
        let n = prompts.count, stride = first.count / max(n, 1)
        var out: [Double] = []
        out.reserveCapacity(n)
        try GradMode.withoutGrad {
            var start = 0
            while start < n {
                let b = min(batchSize, n - start), shape = [b] + Array(first.shape.dropFirst())
                let (a, c) = try scorer.pairScores(first: Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: first.data + start * stride, count: b * stride))),
                                                   second: Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: second.data + start * stride, count: b * stride))),
                                                   prompts: Array(prompts[start..<(start + b)]))
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
            let ds = try encoder.scoreDifferences(first: images.winners, second: images.losers, prompts: rows.map(\.prompt))
            let dpsi = try encoder.tasteDifferences(first: images.winners, second: images.losers)
            for i in 0..<part.count {
                out.append(UserPairFeature(scoreDifference: ds[i], tasteDifference: dpsi[i], target: rows[i].isTie ? 0.5 : 1))
            }
            start += chunk
        }
        return out
    }
}
