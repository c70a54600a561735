/// Whether operations record a backward graph. Inference (sampling, the frozen DPO reference) runs
/// without one: no node is built, nothing is kept alive for a backward pass.
public enum GradMode {
    @TaskLocal public static var isEnabled = true

    /// Runs `body` without recording any graph.
    public static func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
        try $isEnabled.withValue(false) { try body() }
    }
}
