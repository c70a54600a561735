import Autograd
import Diffusion
import Foundation
import Kernels
import NN
@testable import t2ialign
import XCTest

/// `t2ialign bench model`: the workloads do what ../shared/bench/bench.py does, and the report carries its
/// fields. Tiny model, small batches: the timings themselves are not checked (they belong to benchmarks).
final class ModelBenchmarkTests: XCTestCase {
    private func settings(_ workload: ModelBenchmark.Workload, batch: Int = 2, warmup: Int = 0, runs: Int = 1) -> ModelBenchmark.Settings {
        ModelBenchmark.Settings(variant: "tiny", workload: workload, threads: Threading.cores, batch: batch,
                                warmup: warmup, runs: runs, steps: 2)
    }

    private func parameter(_ module: any Module, _ name: String) throws -> Tensor {
        try XCTUnwrap(module.namedParameters().first { $0.0 == name }?.1, "no parameter \(name)")
    }

    func testMedianMatchesPythonStatistics() {
        // python3 -c "import statistics; print(statistics.median([3.0,1.0,2.0]), statistics.median([4.0,1.0,3.0,2.0]))"
        // → 2.0 2.5
        XCTAssertEqual(ModelBenchmark.median([3, 1, 2]), 2)
        XCTAssertEqual(ModelBenchmark.median([4, 1, 3, 2]), 2.5)
        XCTAssertTrue(ModelBenchmark.median([]).isNaN)
    }

    func testParameterCountsMatchTheBaselineModels() throws {
        // ~/bench-venv/bin/python -c "import models; print([(models.count_params(models.make_unet(v)),
        //     models.count_params(models.make_text_encoder(v))) for v in ('tiny', 'small')])"   (shared/bench)
        // → [(1744419, 440320), (6714435, 638592)]
        for (variant, unet, text) in [("tiny", 1_744_419, 440_320), ("small", 6_714_435, 638_592)] {
            let workload = try TextWorkload(variant: variant, batch: 1)
            XCTAssertEqual(workload.model.unet.parameterCount, unet, variant)
            XCTAssertEqual(workload.model.textEncoder.parameterCount, text, variant)
        }
    }

    func testDPOStartsAtLog2AndTrainsOnlyThePolicyUNet() throws {
        let dpo = try DPOWorkload(variant: "tiny", batch: 4, beta: 5000)
        let convIn = "conv_in.weight", token = "text_model.embeddings.token_embedding.weight"
        let policy0 = try parameter(dpo.model.unet, convIn).toArray()
        let text0 = try parameter(dpo.model.textEncoder, token).toArray()
        XCTAssertEqual(try parameter(dpo.reference, convIn).toArray(), policy0, "the reference starts as a copy")
        try dpo.step()
        try dpo.step()
        // Policy = reference on shared ε and t: inside = 0 exactly, loss = log 2 (bench.py's first dpo_losses
        // entry is 0.6931471824645996 = float32(log 2)).
        XCTAssertEqual(dpo.losses.count, 2)
        XCTAssertEqual(dpo.losses[0], Float(log(2.0)), accuracy: 1e-7)
        XCTAssertTrue(dpo.losses[1].isFinite)
        XCTAssertNotEqual(try parameter(dpo.model.unet, convIn).toArray(), policy0, "AdamW updated the policy")
        XCTAssertEqual(try parameter(dpo.reference, convIn).toArray(), policy0, "the reference stays frozen")
        XCTAssertEqual(try parameter(dpo.model.textEncoder, token).toArray(), text0, "the text encoder stays frozen")
        XCTAssertEqual(dpo.optimizer.stepCount(of: convIn), 2)
    }

    func testSFTTrainsTheTextEncoderJointly() throws {
        let sft = try SFTWorkload(variant: "tiny", batch: 2)
        let token = "text_encoder.text_model.embeddings.token_embedding.weight", convIn = "unet.conv_in.weight"
        let text0 = try parameter(sft.model, token).toArray(), unet0 = try parameter(sft.model, convIn).toArray()
        try sft.step()
        XCTAssertEqual(sft.optimizer.stepCount(of: token), 1)
        XCTAssertEqual(sft.optimizer.stepCount(of: convIn), 1)
        XCTAssertNotEqual(try parameter(sft.model, token).toArray(), text0)
        XCTAssertNotEqual(try parameter(sft.model, convIn).toArray(), unet0)
        // A fresh ε-prediction network's MSE against unit-variance noise is of order 1.
        XCTAssertEqual(try XCTUnwrap(sft.losses.first), 1, accuracy: 0.5)
    }

    func testDDIMSamplesHalfTheBatchWithGuidanceInOneCall() throws {
        let ddim = try DDIMWorkload(variant: "tiny", batch: 4, steps: 2, guidance: 3)
        XCTAssertEqual(ddim.options.sampler, .ddim)
        XCTAssertEqual(ddim.options.batchSize, 2, "all images in one network call")
        XCTAssertEqual(try ClassifierFreeGuidance(scale: ddim.options.guidance).batch, .unconditionalThenConditional,
                       "guidance 3 runs 2 U-Net rows per image")
        try ddim.step()
        XCTAssertEqual(ddim.lastImageCount, 2)
    }

    func testRunReportsBenchPyFieldsAsOneJSONLine() throws {
        let result = try ModelBenchmark(settings: settings(.fwd, warmup: 1, runs: 3)).run()
        XCTAssertEqual(result.warmupS.count, 1)
        XCTAssertEqual(result.timesS.count, 3)
        XCTAssertEqual(result.cpuTimesS.count, 3)
        XCTAssertEqual(result.medianS, ModelBenchmark.median(result.timesS))
        XCTAssertLessThanOrEqual(result.minS, result.medianS)
        XCTAssertLessThanOrEqual(result.medianS, result.maxS)
        XCTAssertTrue(result.cpuTimesS.allSatisfy { $0 >= 0 })
        XCTAssertGreaterThan(result.ruMaxrssMb, 1)
        XCTAssertGreaterThan(result.peakTensorMb, 0)
        XCTAssertNil(result.dpoLosses)

        let line = try result.jsonLine()
        XCTAssertFalse(line.contains("\n"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        // bench.py's record keys that apply to both implementations.
        for key in ["variant", "bench", "threads", "batch", "unet_params", "text_params", "warmup_s", "times_s",
                    "median_s", "min_s", "max_s", "ru_maxrss_mb"] {
            XCTAssertNotNil(object[key], key)
        }
        XCTAssertEqual(object["bench"] as? String, "fwd")
        XCTAssertEqual(try JSONDecoder().decode(ModelBenchmark.Result.self, from: Data(line.utf8)), result)
        XCTAssertTrue(ModelBenchmark.table(result).contains("tiny fwd"))
    }

    func testBadSettingsNameTheFlag() throws {
        func flag(_ change: (inout ModelBenchmark.Settings) -> Void) -> String? {
            var s = settings(.dpo, batch: 4)
            change(&s)
            do {
                try s.validate()
                return nil
            } catch ModelBenchmarkError.invalid(let flag, _, _) {
                return flag
            } catch {
                return "unexpected \(error)"
            }
        }
        XCTAssertNil(flag { _ in })
        XCTAssertEqual(flag { $0.variant = "huge" }, "--variant")
        XCTAssertEqual(flag { $0.batch = 1 }, "--batch")
        XCTAssertEqual(flag { $0.runs = 0 }, "--runs")
        XCTAssertEqual(flag { $0.warmup = -1 }, "--warmup")
        XCTAssertEqual(flag { $0.threads = 0 }, "--threads")
        XCTAssertEqual(flag { $0.steps = 0 }, "--steps")
        XCTAssertEqual(flag { $0.guidance = .nan }, "--guidance")
        XCTAssertEqual(flag { $0.beta = -1 }, "--beta")
        XCTAssertNil(flag { $0.gradientCheckpointing = true })
        XCTAssertEqual(flag { $0.gradientCheckpointing = true; $0.workload = .ddim }, "--gradient-checkpointing")

        var wrongThreads = settings(.text)
        wrongThreads.threads = Threading.cores + 1
        XCTAssertThrowsError(try ModelBenchmark(settings: wrongThreads).run()) { error in
            XCTAssertEqual(error as? ModelBenchmarkError, .threadsMismatch(requested: Threading.cores + 1, actual: Threading.cores))
        }
    }

    func testCommandTakesBenchPyFlags() throws {
        let command = try ModelBenchCommand.parse(["--variant", "tiny", "--bench", "dpo", "--threads", "2", "--batch", "16",
                                                   "--warmup", "3", "--runs", "10", "--json", "out.jsonl"])
        XCTAssertEqual(command.settings, ModelBenchmark.Settings(variant: "tiny", workload: .dpo, threads: 2, batch: 16,
                                                                 warmup: 3, runs: 10, steps: 50, guidance: 3, beta: 5000))
        XCTAssertEqual(command.json, "out.jsonl")
        XCTAssertThrowsError(try ModelBenchCommand.parse(["--bench", "train"]))
        XCTAssertThrowsError(try ModelBenchCommand.parse(["--bench", "ddim", "--batch", "1"]))
        XCTAssertTrue(try ModelBenchCommand.parse(["--bench", "sft", "--gradient-checkpointing"]).settings.gradientCheckpointing)
        XCTAssertThrowsError(try ModelBenchCommand.parse(["--bench", "fwd", "--gradient-checkpointing"]))
    }
}
