import Foundation

/// A seeded, counter-based random number generator (Philox4x32-10, Salmon et al. 2011).
///
/// Number i of a draw depends only on (seed, stream, counter, i), never on how many threads fill the
/// buffer, so results are identical on any machine and thread count. `counter` is the state to save in a
/// checkpoint for an exact resume: it counts the 128-bit blocks consumed so far.
public struct RNG: Sendable, Codable, Equatable {
    public let seed: UInt64
    public let stream: UInt64
    public private(set) var counter: UInt64

    public init(seed: UInt64, stream: UInt64 = 0, counter: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        self.counter = counter
    }

    /// An independent generator for a named purpose (e.g. noise vs. timesteps vs. dropout).
    public func derived(stream: UInt64) -> RNG {
        RNG(seed: seed, stream: self.stream &* 0x9E37_79B9_7F4A_7C15 &+ stream &+ 1)
    }

    // MARK: Philox4x32-10

    @inlinable @inline(__always)
    static func mulhilo(_ a: UInt32, _ b: UInt32) -> (hi: UInt32, lo: UInt32) {
        let p = UInt64(a) &* UInt64(b)
        return (UInt32(truncatingIfNeeded: p >> 32), UInt32(truncatingIfNeeded: p))
    }

    /// The four 32-bit words of block `index`.
    @inlinable
    public func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: index), c1 = UInt32(truncatingIfNeeded: index >> 32)
        var c2 = UInt32(truncatingIfNeeded: stream), c3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let (hi0, lo0) = RNG.mulhilo(0xD251_1F53, c0)
            let (hi1, lo1) = RNG.mulhilo(0xCD9E_8D57, c2)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inlinable @inline(__always)
    static func unit(_ u: UInt32) -> Float { Float(u >> 8) * (1.0 / 16_777_216.0) }

    /// Uniform in (0, 1], safe for log.
    @inlinable @inline(__always)
    static func unitOpen(_ u: UInt32) -> Float { Float((u >> 8) + 1) * (1.0 / 16_777_216.0) }

    // MARK: Bulk draws

    /// Fills `count` floats uniform in [low, high).
    public mutating func fillUniform(_ out: UnsafeMutablePointer<Float>, count: Int, low: Float = 0, high: Float = 1) {
        let base = counter
        let blocks = (count + 3) / 4
        let gen = self
        let span = high - low
        let o = UncheckedSendable(out)
        Threading.parallelRanges(blocks, minChunk: 1 << 14) { r in
            for b in r {
                let w = gen.block(base &+ UInt64(b))
                RNG.store((low + span * RNG.unit(w.0), low + span * RNG.unit(w.1),
                           low + span * RNG.unit(w.2), low + span * RNG.unit(w.3)),
                          to: o.value, at: b * 4, count: count)
            }
        }
        counter = base &+ UInt64(blocks)
    }

    /// Fills `count` floats ~ N(mean, std²) by Box–Muller (each block gives four normals).
    public mutating func fillNormal(_ out: UnsafeMutablePointer<Float>, count: Int, mean: Float = 0, std: Float = 1) {
        let base = counter
        let blocks = (count + 3) / 4
        let gen = self
        let o = UncheckedSendable(out)
        Threading.parallelRanges(blocks, minChunk: 1 << 13) { r in
            for b in r {
                let w = gen.block(base &+ UInt64(b))
                let n = RNG.boxMuller(w)
                RNG.store((mean + std * n.0, mean + std * n.1, mean + std * n.2, mean + std * n.3),
                          to: o.value, at: b * 4, count: count)
            }
        }
        counter = base &+ UInt64(blocks)
    }

    /// Writes the four values of one block, the last block possibly partially.
    @inlinable @inline(__always)
    static func store(_ v: (Float, Float, Float, Float), to out: UnsafeMutablePointer<Float>, at i: Int, count: Int) {
        if i + 3 < count {
            out[i] = v.0; out[i + 1] = v.1; out[i + 2] = v.2; out[i + 3] = v.3
        } else {
            if i < count { out[i] = v.0 }
            if i + 1 < count { out[i + 1] = v.1 }
            if i + 2 < count { out[i + 2] = v.2 }
        }
    }

    @inlinable
    static func boxMuller(_ w: (UInt32, UInt32, UInt32, UInt32)) -> (Float, Float, Float, Float) {
        let r1 = (-2 * log(unitOpen(w.0))).squareRoot(), a1 = 2 * Float.pi * unit(w.1)
        let r2 = (-2 * log(unitOpen(w.2))).squareRoot(), a2 = 2 * Float.pi * unit(w.3)
        return (r1 * cos(a1), r1 * sin(a1), r2 * cos(a2), r2 * sin(a2))
    }

    public mutating func uniform(count: Int, low: Float = 0, high: Float = 1) -> [Float] {
        var a = [Float](repeating: 0, count: count)
        a.withUnsafeMutableBufferPointer { fillUniform($0.baseAddress!, count: count, low: low, high: high) }
        return a
    }

    public mutating func normal(count: Int, mean: Float = 0, std: Float = 1) -> [Float] {
        var a = [Float](repeating: 0, count: count)
        a.withUnsafeMutableBufferPointer { fillNormal($0.baseAddress!, count: count, mean: mean, std: std) }
        return a
    }

    // MARK: Scalars (one block each)

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float {
        defer { counter &+= 1 }
        return RNG.unit(block(counter).0)
    }

    /// Uniform double in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        defer { counter &+= 1 }
        let w = block(counter)
        let bits = (UInt64(w.0) << 21) ^ UInt64(w.1 >> 11)
        return Double(bits & ((1 << 53) - 1)) * (1.0 / 9_007_199_254_740_992.0)
    }

    public mutating func nextNormal() -> Float {
        defer { counter &+= 1 }
        return RNG.boxMuller(block(counter)).0
    }

    /// Uniform integer in 0..<bound (bound > 0), without modulo bias worth noticing (64-bit draw).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        defer { counter &+= 1 }
        let w = block(counter)
        let x = (UInt64(w.0) << 32) | UInt64(w.1)
        return Int(x.multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Bernoulli(p).
    public mutating func nextBool(probability p: Double) -> Bool { nextDouble() < p }
}
