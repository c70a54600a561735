import Datasets
import ImageIO
import Kernels

/// Captioned images of the Shapes world for pretraining, rendered on the fly (an endless, exactly
/// reproducible stream).
///
/// Each image answers a prompt drawn from the chosen splits (by default the training prompts only, so
/// the test prompts stay unseen) and is captioned with that prompt, the way a text-to-image model learns
/// from (prompt, image) data. A share `sloppyFraction` of the images comes from `render-sloppy`, the rest
/// from `render-good`, so the base model inherits some of the generators' mistakes for alignment to fix.
public struct ShapesPretrainingImages: CaptionedImageSource {
    public let resolution: Int
    public let sloppyFraction: Double
    public let splits: Set<PromptSplit>

    public init(resolution: Int = 32, sloppyFraction: Double = 0.1, splits: Set<PromptSplit> = [.train]) throws {
        guard resolution >= Renderer.minimumSize else {
            throw ShapesWorldError.imageTooSmall(size: resolution, minimum: Renderer.minimumSize)
        }
        guard (0...1).contains(sloppyFraction) else {
            throw ShapesWorldError.invalidConfiguration(field: "sloppy fraction", reason: "\(sloppyFraction) is not in [0, 1]")
        }
        self.resolution = resolution
        self.sloppyFraction = sloppyFraction
        self.splits = splits
    }

    public var summary: String {
        "Shapes world rendered on the fly: \(splits.map(\.rawValue).sorted().joined(separator: "+")) prompts, "
            + "\(Int((100 * (1 - sloppyFraction)).rounded()))% render-good / \(Int((100 * sloppyFraction).rounded()))% render-sloppy, "
            + "\(resolution)×\(resolution), captioned with their prompt"
    }

    public func batch(count: Int, rng: inout RNG) throws -> (images: [Float], captions: [String]) {
        // One key per batch; image i draws from its own stream so rendering can run on every core.
        let key = UInt64(rng.nextInt(below: Int.max))
        let stride = 3 * resolution * resolution
        var images = [Float](repeating: 0, count: count * stride)
        var captions = [String](repeating: "", count: count)
        var failure: Error?
        images.withUnsafeMutableBufferPointer { out in
            captions.withUnsafeMutableBufferPointer { caps in
                let o = UncheckedSendable(out.baseAddress!), c = UncheckedSendable(caps.baseAddress!)
                let errors = UncheckedSendable(UnsafeMutablePointer<Error?>.allocate(capacity: count))
                errors.value.initialize(repeating: nil, count: count)
                defer { errors.value.deallocate() }
                Threading.parallelFor(count) { i in
                    var r = RNG(seed: key, stream: UInt64(i))
                    let prompt = ShapesPrompt.sample(&r, splits: splits)
                    let generator = r.nextBool(probability: sloppyFraction) ? Generator.sloppy : Generator.good
                    do {
                        let image = try Renderer.render(generator.scene(for: prompt, rng: &r), size: resolution).image
                        image.writeCHW(to: o.value + i * stride)
                        (c.value + i).pointee = prompt.text
                    } catch {
                        errors.value[i] = error
                    }
                }
                failure = (0..<count).lazy.compactMap { errors.value[$0] }.first
            }
        }
        if let failure { throw failure }
        return (images, captions)
    }
}
