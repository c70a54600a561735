import XCTest
@testable import t2ialign

final class OpenBLASCoreCheckTests: XCTestCase {
    let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"]

    /// Only an AVX2 core pinned by the environment on an AVX-512 CPU gets a note, which names the variable.
    func testNoteOnlyForAnAVX2PinOnAnAVX512CPU() throws {
        let note = try XCTUnwrap(OpenBLASCoreCheck.pinnedCoreNote(corename: "Haswell", cpuFlags: avx512,
                                                                  environment: ["OPENBLAS_CORETYPE": "Haswell"]))
        XCTAssertTrue(note.contains("OPENBLAS_CORETYPE=Haswell") && note.contains("unset it"), note)
        // OpenBLAS's own choice, an AVX-512 pin, an AVX2-only CPU, or a CPU lacking a subset the kernels use.
        XCTAssertNil(OpenBLASCoreCheck.pinnedCoreNote(corename: "Haswell", cpuFlags: avx512, environment: [:]))
        XCTAssertNil(OpenBLASCoreCheck.pinnedCoreNote(corename: "SkylakeX", cpuFlags: avx512,
                                                      environment: ["OPENBLAS_CORETYPE": "SKYLAKEX"]))
        XCTAssertNil(OpenBLASCoreCheck.pinnedCoreNote(corename: "Haswell", cpuFlags: ["avx2", "fma"],
                                                      environment: ["OPENBLAS_CORETYPE": "Haswell"]))
        XCTAssertNil(OpenBLASCoreCheck.pinnedCoreNote(corename: "Haswell", cpuFlags: avx512.subtracting(["avx512vl"]),
                                                      environment: ["OPENBLAS_CORETYPE": "Haswell"]))
    }

    func testCPUFlagsAreReadFromTheFirstProcessor() {
        let cpuinfo = """
        processor\t: 0
        model name\t: AMD EPYC
        flags\t\t: fpu sse2 avx2 avx512f avx512vl
        processor\t: 1
        flags\t\t: fpu
        """
        XCTAssertEqual(OpenBLASCoreCheck.cpuFlags(cpuinfo: cpuinfo), ["fpu", "sse2", "avx2", "avx512f", "avx512vl"])
        XCTAssertEqual(OpenBLASCoreCheck.cpuFlags(cpuinfo: ""), [])
    }
}
