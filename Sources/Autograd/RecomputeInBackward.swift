/// Activation checkpointing (torch.utils.checkpoint, diffusers' gradient checkpointing): runs `body` on
/// `inputs` without recording a graph, so none of its intermediate activations stay alive; the backward
/// pass runs `body` again with a graph and backpropagates through that copy. Memory of a block drops to
/// its inputs and output, for one extra forward pass of the block during backward.
///
/// `body` must be deterministic (no RNG draws) and may read only `inputs` and `parameters`, which the
/// recomputed backward accumulates into `.grad` directly, as an ordinary backward pass would. Without
/// grad mode, or when nothing needs a gradient, this is just `body(inputs)`.
public func recomputingInBackward(_ inputs: [Tensor], parameters: [Tensor],
                                  _ body: @escaping ([Tensor]) -> Tensor) -> Tensor {
    guard GradMode.isEnabled, (inputs + parameters).contains(where: { $0.requiresGrad }) else { return body(inputs) }
    let out = GradMode.withoutGrad { body(inputs) }
    return Tensor.record(out, inputs + parameters) { g in
        // Fresh leaves standing in for the inputs, so the recomputed graph ends here and hands their
        // gradients back to the outer pass.
        let leaves = inputs.map { Tensor(shape: $0.shape, storage: $0.storage, requiresGrad: $0.requiresGrad) }
        let recomputed = GradMode.$isEnabled.withValue(true) { body(leaves) }
        recomputed.backward(g)
        return leaves.map { $0.requiresGrad ? $0.grad : nil } + parameters.map { _ in nil }
    }
}
