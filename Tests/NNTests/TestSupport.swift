import Autograd
import Foundation
import NN
import XCTest

/// A fresh directory under the system temp dir, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("t2ialign-nntests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Path of a file in Tests/NNTests/Fixtures (copied into the test bundle).
func fixturePath(_ name: String) throws -> String {
    let dir = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "Fixtures missing from the test bundle")
    return dir.appendingPathComponent(name).path
}

/// Deterministic values for reference tests, reproducible in Python as
/// `[math.cos(i * 0.11 + offset) for i in range(n)]` / `[math.sin(i * 0.37 + offset) for i in range(n)]`
/// rounded to float32 (both sides call the platform's double-precision libm).
func cosValues(_ n: Int, offset: Double = 0) -> [Float] { (0..<n).map { Float(cos(Double($0) * 0.11 + offset)) } }
func sinValues(_ n: Int, offset: Double = 0) -> [Float] { (0..<n).map { Float(sin(Double($0) * 0.37 + offset)) } }

/// A two-level module with named parameters, for EMA and checkpoint tests.
final class TinyModel: Module {
    final class Inner: Module {
        let weight: Tensor
        init(_ values: [Float]) { weight = Tensor(shape: [2, 3], data: values, requiresGrad: true) }
        var ownParameters: [(String, Tensor)] { [("weight", weight)] }
    }
    let bias: Tensor
    let inner: Inner
    init(seed: Float = 0) {
        bias = Tensor(shape: [4], data: (0..<4).map { Float($0) * 0.5 + seed }, requiresGrad: true)
        inner = Inner((0..<6).map { Float($0) * -0.25 + seed })
    }
    var ownParameters: [(String, Tensor)] { [("bias", bias)] }
    var children: [(String, any Module)] { [("inner", inner)] }
}

/// Bit patterns, so NaN payloads and signed zeros compare exactly.
func bits(_ t: Tensor) -> [UInt32] { t.toArray().map(\.bitPattern) }

/// Asserts elementwise |a − b| ≤ tol · max(1, |b|).
func assertClose(_ a: [Float], _ b: [Float], tol: Float, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count \(message)", file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where !(abs(x - y) <= tol * max(1, abs(y))) {
        XCTFail("\(message) element \(i): \(x) vs expected \(y)", file: file, line: line)
        return
    }
}
