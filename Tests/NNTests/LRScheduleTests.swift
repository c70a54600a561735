import Foundation
import NN
import XCTest

final class LRScheduleTests: XCTestCase {
    /// Reference: diffusers 0.42.1 `get_scheduler` over torch's LambdaLR (torch 2.13.0), base lr 0.5:
    ///
    ///     o = torch.optim.AdamW([p], lr=0.5)
    ///     s = get_scheduler(name, o, num_warmup_steps=w, num_training_steps=t)
    ///     for k in range(13): lrs.append(s.get_last_lr()[0]); o.step(); s.step()
    private let torchLRs: [(String, Int, Int?, [Double])] = [
        ("constant", 0, nil, Array(repeating: 0.5, count: 13)),
        ("constant_with_warmup", 3, nil, [0.0, 0.16666666666666666, 0.3333333333333333] + Array(repeating: 0.5, count: 10)),
        ("cosine", 3, 10, [0.0, 0.16666666666666666, 0.3333333333333333, 0.5, 0.47524221697560476, 0.4058724504646834,
                           0.3056302334890786, 0.19436976651092142, 0.09412754953531663, 0.02475778302439524, 0.0,
                           0.024757783024395214, 0.09412754953531657]),
        ("linear", 3, 10, [0.0, 0.16666666666666666, 0.3333333333333333, 0.5, 0.42857142857142855, 0.35714285714285715,
                           0.2857142857142857, 0.21428571428571427, 0.14285714285714285, 0.07142857142857142, 0.0, 0.0, 0.0]),
    ]

    func testMatchesDiffusersSchedules() throws {
        for (name, warmup, total, expected) in torchLRs {
            let schedule = try LRSchedule(name: name, baseLR: 0.5, warmupSteps: warmup, totalSteps: total)
            for (k, lr) in expected.enumerated() {
                XCTAssertEqual(schedule.lr(at: k), lr, accuracy: 1e-15, "\(name) step \(k)")
            }
        }
    }

    func testConstantIgnoresWarmupAndZeroWarmupStartsAtBase() throws {
        // diffusers' "constant" takes no warmup; the others with 0 warmup start at the base rate.
        XCTAssertEqual(try LRSchedule(.constant, baseLR: 2, warmupSteps: 5).lr(at: 0), 2)
        XCTAssertEqual(try LRSchedule(.constantWithWarmup, baseLR: 2).lr(at: 0), 2)
        XCTAssertEqual(try LRSchedule(.cosine, baseLR: 2, totalSteps: 4).lr(at: 0), 2)
        XCTAssertEqual(try LRSchedule(.cosine, baseLR: 2, totalSteps: 4).lr(at: 2), 1, accuracy: 1e-15)
    }

    func testInvalidConfigurationsAreRejected() {
        XCTAssertThrowsError(try LRSchedule(name: "cosine_annealing", baseLR: 1)) { error in
            XCTAssertTrue("\(error)".contains("constant_with_warmup"), "should list the valid names: \(error)")
        }
        XCTAssertThrowsError(try LRSchedule(.cosine, baseLR: 1, warmupSteps: 2))
        XCTAssertThrowsError(try LRSchedule(.linear, baseLR: 1, totalSteps: 0))
        XCTAssertThrowsError(try LRSchedule(.constant, baseLR: -1))
        XCTAssertThrowsError(try LRSchedule(.constant, baseLR: .nan))
        XCTAssertThrowsError(try LRSchedule(.constantWithWarmup, baseLR: 1, warmupSteps: -1))
    }

    func testCodableRoundTripAndValidationOnDecode() throws {
        let s = try LRSchedule(.cosine, baseLR: 1e-4, warmupSteps: 10, totalSteps: 100, numCycles: 1.5)
        let back = try JSONDecoder().decode(LRSchedule.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(back, s)
        let bad = #"{"kind":"cosine","baseLR":0.1,"warmupSteps":1}"#
        XCTAssertThrowsError(try JSONDecoder().decode(LRSchedule.self, from: Data(bad.utf8)))
    }
}
