import Autograd

/// CLIP's contrastive objective on the images of a batch and their own captions (Pick-a-Pic's
/// caption_0/caption_1, which the Shapes world fills with truthful descriptions): with logits
/// S = scale · I·Tᵀ over the N images and N captions of the batch,
///
///     L = ½ · mean_i CE(S[i, :], y_i) + ½ · mean_j CE(S[:, j], y_j)
///
/// where y_i is uniform over the captions identical to image i's (CLIP's one-hot target, except that
/// duplicate captions — two faithful renders of one prompt — share the credit instead of being false
/// negatives). PickScore fine-tunes a contrastively pretrained CLIP; on a small dataset this term plays
/// that pretraining's part, teaching both towers the prompt attributes directly from every image.
public enum CaptionContrastiveLoss {
    /// `images`, `captions`: [N, D] unit embeddings, row i of each belonging together; `texts` the N captions.
    public static func loss(images: Tensor, captions: Tensor, texts: [String], scale: Float) throws -> Tensor {
        let n = texts.count
        guard n > 0, images.shape == captions.shape, images.rank == 2, images.shape[0] == n else {
            throw ScorerError.invalidInput("caption loss: images \(images.shape), captions \(captions.shape) and \(n) texts must describe the same N > 0 rows")
        }
        let targets = targetMatrix(texts)
        let logits = matmul(images, captions.permuted([1, 0])) * scale
        let rows = mean(softCrossEntropy(logits, targets: targets))
        let columns = mean(softCrossEntropy(logits.permuted([1, 0]), targets: targets))  // the matrix is symmetric
        return (rows + columns) * 0.5
    }

    /// [N, N] row-major: row i uniform over the j with texts[j] == texts[i].
    public static func targetMatrix(_ texts: [String]) -> [Float] {
        let n = texts.count
        var t = [Float](repeating: 0, count: n * n)
        var groups: [String: [Int]] = [:]
        for (i, s) in texts.enumerated() { groups[s, default: []].append(i) }
        for members in groups.values {
            let w = 1 / Float(members.count)
            for i in members { for j in members { t[i * n + j] = w } }
        }
        return t
    }
}
