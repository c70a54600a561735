import Autograd

/// CLIP's contrastive objective on the images of a batch and their own captions (Pick-a-Pic's
/// caption_0/caption_1, which the Shapes world fills with truthful descriptions): with logits
/// S = scale · I·Tᵀ over the N images and N captions of the batch,
///
///     L = ½ · mean_i CE(S[i, :], y_i) + ½ · mean_j CE(S[:, j], y_j)
///
/// where y_i is uniform over the captions identical to image i's (CLIP's one-hot target, except that
/// duplicate captions — two faithful renders of one prompt — share the credit instead of being false
/// negatives). Optional hard-negative captions (`HardNegativeCaptions`) join the image → caption softmax.
/// PickScore fine-tunes a contrastively pretrained CLIP; on a small dataset this term plays that
/// pretraining's part, teaching both towers the prompt attributes directly from every image.
public enum CaptionContrastiveLoss {
    /// `images`, `captions`: [N, D] unit embeddings, row i of each belonging together; `texts` the N captions.
    /// `negatives` [M, D] (texts `negativeTexts`) are extra captions every image is contrasted with (hard
    /// negatives); they take part in the image → caption direction only.
    public static func loss(images: Tensor, captions: Tensor, texts: [String], negatives: Tensor? = nil,
                            negativeTexts: [String] = [], scale: Float) throws -> Tensor {
        let n = texts.count, m = negativeTexts.count
        guard n > 0, images.shape == captions.shape, images.rank == 2, images.shape[0] == n,
              (negatives?.shape[0] ?? 0) == m, negatives.map({ $0.rank == 2 && $0.shape[1] == images.shape[1] }) ?? true else {
            throw ScorerError.invalidInput("caption loss: images \(images.shape), captions \(captions.shape), \(n) texts, negatives \(negatives?.shape ?? []) and \(m) negative texts do not fit together")
        }
        let logits = matmul(images, captions.permuted([1, 0])) * scale
        let columns = mean(softCrossEntropy(logits.permuted([1, 0]), targets: targetMatrix(texts, texts)))
        let rowLogits = negatives.map { concat([logits, matmul(images, $0.permuted([1, 0])) * scale], axis: 1) } ?? logits
        let rows = mean(softCrossEntropy(rowLogits, targets: targetMatrix(texts, texts + negativeTexts)))
        return (rows + columns) * 0.5
    }

    /// [rows.count, columns.count] row-major: row i uniform over the columns whose text equals rows[i].
    public static func targetMatrix(_ rows: [String], _ columns: [String]) -> [Float] {
        let c = columns.count
        var columnsOf: [String: [Int]] = [:]
        for (j, s) in columns.enumerated() { columnsOf[s, default: []].append(j) }
        var t = [Float](repeating: 0, count: rows.count * c)
        for (i, s) in rows.enumerated() {
            guard let hits = columnsOf[s] else { continue }
            for j in hits { t[i * c + j] = 1 / Float(hits.count) }
        }
        return t
    }
}
