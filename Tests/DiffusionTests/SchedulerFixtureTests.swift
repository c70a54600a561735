import Foundation
import XCTest
import Diffusion

/// Fixtures/schedulers.json, written by Scripts/make_scheduler_fixtures.py with diffusers' schedulers
/// (configured as shared/bench/models.py `make_schedulers`). Keys are the JSON's snake_case names.
struct SchedulerFixture: Decodable {
    struct Schedule: Decodable {
        let beta_schedule: String
        let beta_start: Double?
        let beta_end: Double?
        let betas: [Float]
        let alphas_cumprod: [Float]
    }
    struct AddNoise: Decodable {
        let beta_schedule: String
        let timesteps: [Int]
        let x0: [Float]
        let noise: [Float]
        let noisy: [Float]
    }
    struct Velocity: Decodable {
        let beta_schedule: String
        let timesteps: [Int]
        let x0: [Float]
        let noise: [Float]
        let velocity: [Float]
    }
    struct Timesteps: Decodable {
        let scheduler: String
        let steps_offset: Int
        let num_inference_steps: Int
        let timesteps: [Int]
    }
    struct StepRecord: Decodable {
        let index: Int
        let timestep: Int
        let sample: [Float]
        let model_output: [Float]
        let variance_noise: [Float]?
        let prev_sample: [Float]
        let pred_original_sample: [Float]
    }
    struct StepChain: Decodable {
        let scheduler: String
        let beta_schedule: String
        let clip_sample: Bool
        let eta: Float
        let prediction_type: String
        /// diffusers' step(use_clipped_model_output=…); false in chains that predate it.
        let use_clipped_model_output: Bool?
        let num_inference_steps: Int
        let records: [StepRecord]
    }
    struct GuidedLoop: Decodable {
        let beta_schedule: String
        let num_inference_steps: Int
        let guidance_scale: Float
        let shape: [Int]
        let condition: [Float]
        let initial_noise: [Float]
        let result: [Float]
    }
    let generator: String
    let num_train_timesteps: Int
    let schedules: [Schedule]
    let add_noise: [AddNoise]
    let timesteps: [Timesteps]
    let steps: [StepChain]
    /// The same chains with prediction_type "v_prediction".
    let v_steps: [StepChain]
    /// get_velocity(x0, noise, timesteps): the v-prediction training target (`noisy` holds v).
    let velocity: [Velocity]
    let guided_loop: GuidedLoop

    static func load() throws -> SchedulerFixture {
        guard let url = Bundle.module.url(forResource: "schedulers", withExtension: "json", subdirectory: "Fixtures") else {
            throw NSError(domain: "SchedulerFixture", code: 1, userInfo: [NSLocalizedDescriptionKey:
                "Fixtures/schedulers.json is missing: run /root/bench-venv/bin/python Scripts/make_scheduler_fixtures.py"])
        }
        return try JSONDecoder().decode(SchedulerFixture.self, from: Data(contentsOf: url))
    }

    /// The Swift schedule for a fixture's beta_schedule name (its beta range is the Swift default's).
    static func schedule(_ name: String, prediction: String = "epsilon") throws -> NoiseSchedule {
        try NoiseSchedule(BetaSchedule(name: name), predictionType: PredictionType(name: prediction))
    }
}

/// Asserts |a − e| ≤ tolerance · max(|e|, 1) element for element: relative, with the unit scale of images in
/// [−1, 1] as the floor (a value that nearly cancels to 0 carries the rounding of its O(1) terms).
func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float = 1e-5, _ what: @autoclosure () -> String,
                 file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(what()): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    var worst: Float = 0, worstIndex = 0
    for i in actual.indices {
        let err = abs(actual[i] - expected[i]) / max(abs(expected[i]), 1)
        if !(err <= worst) { worst = err; worstIndex = i }   // NaN counts as worst
    }
    XCTAssert(worst <= tolerance, "\(what()): element \(worstIndex) is \(actual[worstIndex]), expected "
              + "\(expected[worstIndex]) (relative error \(worst) > \(tolerance))", file: file, line: line)
}

final class SchedulerFixtureTests: XCTestCase {
    /// The fixture holds what the other tests rely on: every schedule, both schedulers, all three beta schedules.
    func testFixtureCoversEveryConfiguration() throws {
        let f = try SchedulerFixture.load()
        XCTAssertEqual(f.num_train_timesteps, 1000)
        XCTAssertEqual(Set(f.schedules.map(\.beta_schedule)), Set(BetaSchedule.names))
        XCTAssertEqual(Set(f.add_noise.map(\.beta_schedule)), Set(BetaSchedule.names))
        for name in BetaSchedule.names {
            let chains = f.steps.filter { $0.beta_schedule == name }
            XCTAssertTrue(chains.contains { $0.scheduler == "ddpm" && $0.clip_sample }, name)
            XCTAssertTrue(chains.contains { $0.scheduler == "ddpm" && !$0.clip_sample }, name)
            XCTAssertTrue(chains.contains { $0.scheduler == "ddim" && $0.eta == 0 }, name)
            XCTAssertTrue(chains.contains { $0.scheduler == "ddim" && $0.eta > 0 }, name)
        }
        XCTAssertTrue(f.steps.allSatisfy { !$0.records.isEmpty })
    }
}
