import Foundation

/// One labelled pair as the user model sees it (first image vs second image).
public struct UserPairFeature: Sendable, Equatable {
    /// Δs = s(first) − s(second): the frozen population scorer's score difference (prompt-aware).
    public var scoreDifference: Double
    /// Δψ = ψ(first) − ψ(second): taste-feature difference [D].
    public var tasteDifference: [Double]
    /// P(first preferred): 1, ½ (tie) or 0.
    public var target: Double

    public init(scoreDifference: Double, tasteDifference: [Double], target: Double) {
        self.scoreDifference = scoreDifference
        self.tasteDifference = tasteDifference
        self.target = target
    }
}

/// The hierarchical Bradley–Terry user model and what it says about a new user from a few pairs.
///
///     z = α·Δs + ⟨w_u, Δψ⟩,   P(first preferred) = σ(z),   w_u ~ N(μ, Σ)
///
/// α weighs the shared scorer (what everybody agrees on: prompt correctness); w_u is the user's taste;
/// μ, Σ are the mean and covariance of the training users' fitted w_u. A new user's w is the MAP estimate
/// from their K pairs (Newton's method on a D-dimensional concave objective), and their embedding is
/// the whitened deviation u = L⁻¹(w − μ) (Σ = LLᵀ): u = 0 is the average training user — the same zero
/// tokens as "no user" — and every direction of u has unit spread over the training users.
public struct UserPrior: Sendable, Equatable {
    public let alpha: Double
    public let mean: [Double]
    /// Σ, row-major [D, D].
    public let covariance: [Double]
    let choleskyFactor: [Double]
    let precision: [Double]

    public var dimension: Int { mean.count }

    public init(alpha: Double, mean: [Double], covariance: [Double]) throws {
        let d = mean.count
        guard d > 0, covariance.count == d * d, alpha.isFinite, mean.allSatisfy(\.isFinite), covariance.allSatisfy(\.isFinite),
              let factor = SmallSPD.cholesky(covariance, d) else {
            throw PersonalizationError.input("user prior: α must be finite, μ [D] and Σ [D, D] (D = \(d), \(covariance.count) entries) symmetric positive definite")
        }
        self.alpha = alpha
        self.mean = mean
        self.covariance = covariance
        choleskyFactor = factor
        var inverse = [Double](repeating: 0, count: d * d)
        for j in 0..<d {
            var e = [Double](repeating: 0, count: d)
            e[j] = 1
            let column = SmallSPD.solve(factor: factor, d, e)
            for i in 0..<d { inverse[i * d + j] = column[i] }
        }
        precision = inverse
    }

    /// The prior fitted to training users' weights: their mean and covariance (+ `ridge`·I so that a
    /// degenerate set of users still gives a usable prior).
    public init(alpha: Double, userWeights: [[Double]], ridge: Double = 1e-6) throws {
        guard let d = userWeights.first?.count, userWeights.count >= 2, userWeights.allSatisfy({ $0.count == d }) else {
            throw PersonalizationError.input("user prior: needs the weights of at least 2 training users, all of one dimension")
        }
        let n = Double(userWeights.count)
        let mu = (0..<d).map { i in userWeights.reduce(0) { $0 + $1[i] } / n }
        var cov = [Double](repeating: 0, count: d * d)
        for w in userWeights {
            for i in 0..<d { for j in 0..<d { cov[i * d + j] += (w[i] - mu[i]) * (w[j] - mu[j]) / (n - 1) } }
        }
        for i in 0..<d { cov[i * d + i] += ridge }
        try self.init(alpha: alpha, mean: mu, covariance: cov)
    }

    /// z = α·Δs + ⟨w, Δψ⟩.
    public func logit(_ pair: UserPairFeature, weights w: [Double]) -> Double {
        var z = alpha * pair.scoreDifference
        for i in 0..<w.count { z += w[i] * pair.tasteDifference[i] }
        return z
    }

    /// P(first ≻ second) = σ(logit) under weights `w`.
    public func probability(_ pair: UserPairFeature, weights w: [Double]) -> Double {
        1 / (1 + Foundation.exp(-logit(pair, weights: w)))
    }

    /// log p(labels | w) + log N(w; μ, Σ), up to a constant.
    public func logPosterior(_ pairs: [UserPairFeature], weights w: [Double]) -> Double {
        let d = dimension
        var l = 0.0
        for pair in pairs {
            let z = logit(pair, weights: w)
            l -= pair.target * Self.softplus(-z) + (1 - pair.target) * Self.softplus(z)
        }
        for i in 0..<d { for j in 0..<d { l -= 0.5 * (w[i] - mean[i]) * precision[i * d + j] * (w[j] - mean[j]) } }
        return l
    }

    /// log(1 + eˣ) without overflow.
    static func softplus(_ x: Double) -> Double { x > 0 ? x + Foundation.log1p(Foundation.exp(-x)) : Foundation.log1p(Foundation.exp(x)) }

    /// The MAP estimate of a user's weights from their labelled pairs (μ when there are none): Newton's
    /// method on the concave log posterior, each step halved until it improves (saturated pairs with large
    /// Δψ would otherwise make a full step overshoot).
    public func mapEstimate(_ pairs: [UserPairFeature], iterations: Int = 30) -> [Double] {
        let d = dimension
        var w = mean, current = logPosterior(pairs, weights: w)
        for _ in 0..<iterations {
            // Ascent direction: solve (Σ p(1−p)·ΔψΔψᵀ + Σ⁻¹)·δ = gradient.
            var gradient = [Double](repeating: 0, count: d), curvature = precision
            for i in 0..<d { for j in 0..<d { gradient[i] -= precision[i * d + j] * (w[j] - mean[j]) } }
            for pair in pairs {
                let p = probability(pair, weights: w)
                let f = pair.tasteDifference
                for i in 0..<d {
                    gradient[i] += f[i] * (pair.target - p)
                    for j in 0..<d { curvature[i * d + j] += p * (1 - p) * f[i] * f[j] }
                }
            }
            guard let factor = SmallSPD.cholesky(curvature, d) else { break }
            let step = SmallSPD.solve(factor: factor, d, gradient)
            var t = 1.0, improved = false
            for _ in 0..<40 {
                let candidate = (0..<d).map { w[$0] + t * step[$0] }
                let value = logPosterior(pairs, weights: candidate)
                if value >= current {
                    w = candidate
                    current = value
                    improved = true
                    break
                }
                t /= 2
            }
            if !improved || t * step.reduce(0, { $0 + $1 * $1 }).squareRoot() < 1e-12 { break }
        }
        return w
    }

    /// Pair indices by how much their label would say about w, most informative first — a label-free
    /// choice: p(1 − p)·ΔψᵀΣΔψ with p = σ(α·Δs + ⟨μ, Δψ⟩), i.e. pairs the shared scorer cannot already
    /// decide whose images differ in taste along directions users disagree on. Ties in the score keep index order.
    public func informativeOrder(_ pairs: [UserPairFeature]) -> [Int] {
        let d = dimension
        let value = pairs.map { pair -> Double in
            let p = probability(pair, weights: mean)
            let f = pair.tasteDifference
            var spread = 0.0
            for i in 0..<d { for j in 0..<d { spread += f[i] * covariance[i * d + j] * f[j] } }
            return p * (1 - p) * spread
        }
        return pairs.indices.sorted { value[$0] != value[$1] ? value[$0] > value[$1] : $0 < $1 }
    }

    /// u = L⁻¹(w − μ).
    public func embedding(weights w: [Double]) -> [Float] {
        SmallSPD.forwardSubstitute(factor: choleskyFactor, dimension, zip(w, mean).map { $0 - $1 }).map(Float.init)
    }

    /// w = μ + L·u (the inverse of `embedding`).
    public func weights(embedding u: [Float]) -> [Double] {
        let d = dimension
        var w = mean
        for i in 0..<d {
            for j in 0...i { w[i] += choleskyFactor[i * d + j] * Double(u[j]) }
        }
        return w
    }
}

/// Cholesky factorisation and solves for the small (D × D) symmetric positive definite systems above.
enum SmallSPD {
    /// Lower-triangular L with A = LLᵀ (row-major), nil when A is not positive definite.
    static func cholesky(_ a: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard s > 0, s.isFinite else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        return l
    }

    /// L⁻¹b.
    static func forwardSubstitute(factor l: [Double], _ n: Int, _ b: [Double]) -> [Double] {
        var y = b
        for i in 0..<n {
            for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
            y[i] /= l[i * n + i]
        }
        return y
    }

    /// A⁻¹b from A's Cholesky factor.
    static func solve(factor l: [Double], _ n: Int, _ b: [Double]) -> [Double] {
        var x = forwardSubstitute(factor: l, n, b)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<n { x[i] -= l[k * n + i] * x[k] }
            x[i] /= l[i * n + i]
        }
        return x
    }
}
