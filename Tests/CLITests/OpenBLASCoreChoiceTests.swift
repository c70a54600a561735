import Foundation
import XCTest
@testable import t2ialign

final class OpenBLASCoreChoiceTests: XCTestCase {
    let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"]
    let pin = ["OPENBLAS_CORETYPE": "Haswell"]

    /// Only an AVX2 core pinned by the environment on an AVX-512 CPU is replaced, once, unless asked to keep it.
    func testReplacesOnlyAnAVX2PinOnAnAVX512CPU() {
        XCTAssertTrue(OpenBLASCoreChoice.shouldReplacePin(corename: "Haswell", cpuFlags: avx512, environment: pin))
        XCTAssertTrue(OpenBLASCoreChoice.shouldReplacePin(corename: "Zen", cpuFlags: avx512,
                                                          environment: ["OPENBLAS_CORETYPE": "ZEN", "T2I_BLAS_CORE": "best"]))
        // OpenBLAS's own choice, an AVX-512 pin, an AVX2-only CPU, a CPU lacking a subset the kernels use.
        XCTAssertFalse(OpenBLASCoreChoice.shouldReplacePin(corename: "Haswell", cpuFlags: avx512, environment: [:]))
        XCTAssertFalse(OpenBLASCoreChoice.shouldReplacePin(corename: "SkylakeX", cpuFlags: avx512,
                                                           environment: ["OPENBLAS_CORETYPE": "SKYLAKEX"]))
        XCTAssertFalse(OpenBLASCoreChoice.shouldReplacePin(corename: "Haswell", cpuFlags: ["avx2", "fma"], environment: pin))
        XCTAssertFalse(OpenBLASCoreChoice.shouldReplacePin(corename: "Haswell", cpuFlags: avx512.subtracting(["avx512vl"]),
                                                           environment: pin))
        // Asked to keep it; or already restarted once (never a loop, even if OpenBLAS refused the new core).
        XCTAssertFalse(OpenBLASCoreChoice.shouldReplacePin(corename: "Haswell", cpuFlags: avx512,
                                                           environment: pin.merging(["T2I_BLAS_CORE": "keep"]) { $1 }))
        XCTAssertFalse(OpenBLASCoreChoice.shouldReplacePin(corename: "Haswell", cpuFlags: avx512,
                                                           environment: pin.merging([OpenBLASCoreChoice.replacedPin: "Haswell"]) { $1 }))
    }

    /// A kept pin gets a benchmark note naming the variable; the restarted process names what it replaced.
    func testNotesNameThePinAndTheWayBack() throws {
        let note = try XCTUnwrap(OpenBLASCoreChoice.pinnedCoreNote(corename: "Haswell", cpuFlags: avx512,
                                                                   environment: pin.merging(["T2I_BLAS_CORE": "keep"]) { $1 }))
        XCTAssertTrue(note.contains("OPENBLAS_CORETYPE=Haswell") && note.contains("T2I_BLAS_CORE=keep"), note)
        XCTAssertNil(OpenBLASCoreChoice.pinnedCoreNote(corename: "SkylakeX", cpuFlags: avx512,
                                                       environment: ["OPENBLAS_CORETYPE": "SkylakeX"]))
        XCTAssertNil(OpenBLASCoreChoice.replacementNote(environment: pin))
        let replaced = try XCTUnwrap(OpenBLASCoreChoice.replacementNote(
            environment: [OpenBLASCoreChoice.replacedPin: "Haswell", "OPENBLAS_CORETYPE": "SkylakeX"]))
        XCTAssertTrue(replaced.contains("OPENBLAS_CORETYPE=Haswell") && replaced.contains("SkylakeX")
                      && replaced.contains("T2I_BLAS_CORE=keep"), replaced)
    }

    /// Help output runs no GEMM: it is neither restarted nor prefixed by the note.
    func testHelpRequestsAreLeftAlone() {
        for arguments in [[], ["--help"], ["train", "-h"], ["help", "train"], ["scorer", "train", "--help"]] {
            XCTAssertTrue(OpenBLASCoreChoice.isHelpRequest(arguments), "\(arguments)")
        }
        for arguments in [["train"], ["eval", "--model", "m", "--baseline", "b", "--oracle"], ["train", "--helpful"]] {
            XCTAssertFalse(OpenBLASCoreChoice.isHelpRequest(arguments), "\(arguments)")
        }
    }

    func testCPUFlagsAreReadFromTheFirstProcessor() {
        let cpuinfo = """
        processor\t: 0
        model name\t: AMD EPYC
        flags\t\t: fpu sse2 avx2 avx512f avx512vl
        processor\t: 1
        flags\t\t: fpu
        """
        XCTAssertEqual(OpenBLASCoreChoice.cpuFlags(cpuinfo: cpuinfo), ["fpu", "sse2", "avx2", "avx512f", "avx512vl"])
        XCTAssertEqual(OpenBLASCoreChoice.cpuFlags(cpuinfo: ""), [])
    }

    /// The built binary, started with an AVX2 pin: on an AVX-512 CPU it restarts on SkylakeX kernels (the JSON of
    /// `bench model` records the core it ran) and says so once; with T2I_BLAS_CORE=keep, or on an AVX2 CPU, it
    /// runs Haswell's. Arguments survive the restart (the JSON file named by --json is written).
    func testTheBinaryRestartsOnAVX512Kernels() throws {
        let binary = Bundle.main.bundleURL.appendingPathComponent("t2ialign")   // the products folder on Linux
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary.path), "no t2ialign binary beside the tests")
        let hasAVX512 = OpenBLASCoreChoice.avx512Flags.isSubset(of: OpenBLASCoreChoice.cpuFlags())
        for keep in [false, true] {
            let json = FileManager.default.temporaryDirectory.appendingPathComponent("core-\(UUID().uuidString).jsonl")
            defer { try? FileManager.default.removeItem(at: json) }
            var environment = ProcessInfo.processInfo.environment
            environment["OPENBLAS_CORETYPE"] = "Haswell"
            environment["T2I_BLAS_CORE"] = keep ? "keep" : nil
            environment[OpenBLASCoreChoice.replacedPin] = nil
            let process = Process()
            process.executableURL = binary
            process.arguments = ["bench", "model", "--variant", "tiny", "--bench", "text", "--batch", "1", "--warmup", "0",
                                 "--runs", "1", "--threads", "1", "--json", json.path]
            process.environment = environment
            let stderr = Pipe()
            process.standardError = stderr
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let messages = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, messages)
            let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
            let core = try XCTUnwrap(report["openblas_core"] as? String)
            let replaced = hasAVX512 && !keep
            XCTAssertEqual(core.lowercased(), replaced ? "skylakex" : "haswell", messages)
            XCTAssertEqual(messages.components(separatedBy: "pins OpenBLAS to AVX2 kernels").count - 1, replaced ? 1 : 0, messages)
        }
    }

    /// `--help` with the same pin: the help text, and nothing on stderr.
    func testTheBinaryPrintsHelpWithoutTheNote() throws {
        let binary = Bundle.main.bundleURL.appendingPathComponent("t2ialign")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary.path), "no t2ialign binary beside the tests")
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = "Haswell"
        environment["T2I_BLAS_CORE"] = nil
        environment[OpenBLASCoreChoice.replacedPin] = nil
        let process = Process()
        process.executableURL = binary
        process.arguments = ["train", "--help"]
        process.environment = environment
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let help = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let messages = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, messages)
        XCTAssertTrue(help.contains("--objective"), help)
        XCTAssertEqual(messages, "")
    }
}
