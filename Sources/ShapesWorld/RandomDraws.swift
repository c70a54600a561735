import Foundation
import Kernels

/// The few discrete draws the Shapes world needs, on top of the Philox `RNG` of Kernels.
extension RNG {
    /// A uniformly chosen element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T {
        items[nextInt(below: items.count)]
    }

    /// Uniform in [low, high], as Double.
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextDouble()
    }

    /// Poisson(mean) by multiplying uniforms (Knuth), capped at `cap`; means here are ≤ 1.5.
    mutating func poisson(mean: Double, cap: Int) -> Int {
        let limit = Foundation.exp(-mean)
        var k = 0
        var p = nextDouble()
        while p > limit && k < cap {
            k += 1
            p *= nextDouble()
        }
        return k
    }

    /// `count` distinct indices of 0..<n in random order (partial Fisher–Yates).
    mutating func distinctIndices(_ count: Int, of n: Int) -> [Int] {
        var idx = Array(0..<n)
        for i in 0..<min(count, n) {
            let j = i + nextInt(below: n - i)
            idx.swapAt(i, j)
        }
        return Array(idx.prefix(count))
    }
}
