/// An op's input as its backward pass will read it: the tensor itself, or — when the tensor is the output
/// of a cheap op that can rebuild it (`Tensor.recompute`) — only that recipe. Selective recomputation:
/// the input of a convolution or linear layer that follows a norm, activation, upsampling or concatenation
/// is freed after the forward pass and rebuilt, bit for bit, by one more pass of the cheap op when backward
/// reaches the layer (the GEMMs are not redone, unlike `recomputingInBackward`).
struct SavedInput {
    private let kept: Tensor?
    private let recompute: (() -> Tensor)?

    init(_ tensor: Tensor) {
        if let recompute = tensor.recompute {
            kept = nil
            self.recompute = recompute
        } else {
            kept = tensor
            recompute = nil
        }
    }

    /// The input; a rebuilt one is owned by the caller alone, who must keep it alive while kernels read
    /// its pointer (`withValue` does).
    func value() -> Tensor { kept ?? recompute!() }

    /// Runs `body` on the input, alive until `body` returns.
    func withValue<R>(_ body: (Tensor) -> R) -> R {
        let value = value()
        return withExtendedLifetime(value) { body(value) }
    }
}
