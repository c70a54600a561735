import Datasets
import Foundation
import ImageIO
import XCTest
import ShapesWorld

final class SynthesizerTests: XCTestCase {
    /// One dataset shared by the tests that only read it (~3,000 pairs, a few seconds).
    static let shared: Result<(directory: String, summary: SynthesisSummary), Error> = Result {
        var config = SynthesisConfig()
        config.seed = 21
        config.populationPairs = 1500
        config.users = UserPopulationConfig(trainingPerArchetype: 2, heldOutPerArchetype: 1, minPairs: 50, maxPairs: 120)
        let directory = temporaryDirectory("shared")
        return (directory, try ShapesSynthesizer.synthesize(config, to: directory))
    }

    override class func tearDown() {
        if case .success(let shared) = shared { try? FileManager.default.removeItem(atPath: shared.directory) }
        super.tearDown()
    }

    static func temporaryDirectory(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "shapes-synth-\(name)-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: path)
        return path
    }

    func rows(_ directory: String, _ split: String) throws -> [PairRow] {
        let text = try String(contentsOfFile: directory + "/" + split + ".jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(PairRow.self, from: Data($0.utf8)) }
    }

    func testLabelsAgreeWithTheOracleAsBradleyTerryPredicts() throws {
        let (directory, summary) = try Self.shared.get()
        let weights = Dictionary(uniqueKeysWithValues: try UsersFile.read(directory).map { ($0.id, $0.weights) })
        var agree = 0, nonTies = 0, ties = 0
        var expected = 0.0
        for split in summary.rows.keys {
            for row in try rows(directory, split) {
                let prompt = try ShapesPrompt(parsing: row.caption)
                let w = try XCTUnwrap(weights[row.userID])
                let r0 = Reward.reward(try Oracle.measure(try ImageFile.read(directory + "/" + row.jpg0)), prompt: prompt, weights: w)
                let r1 = Reward.reward(try Oracle.measure(try ImageFile.read(directory + "/" + row.jpg1)), prompt: prompt, weights: w)
                // Ties are exactly the pairs whose rewards, re-measured from the PNGs, differ by less than 0.05.
                XCTAssertEqual(row.isTie, abs(r0 - r1) < Labeler.tieThreshold, "ranking \(row.rankingID)")
                if row.isTie { ties += 1; continue }
                nonTies += 1
                if (row.label0 == 1) == (r0 > r1) { agree += 1 }
                expected += Labeler.probabilityFirstPreferred(abs(r0 - r1), 0)
            }
        }
        let share = Double(agree) / Double(nonTies), predicted = expected / Double(nonTies)
        print("labels agreeing with the oracle ordering: \(String(format: "%.4f", share)) over \(nonTies) non-tie pairs; "
              + "Bradley–Terry expectation mean σ(|Δr|/0.5) = \(String(format: "%.4f", predicted)); ties \(ties)")
        XCTAssertGreaterThan(nonTies, 2500)
        XCTAssertEqual(share, predicted, accuracy: 0.02)
        XCTAssertEqual(ties, summary.ties)
    }

    func testSplitsUsersAndColumns() throws {
        let (directory, summary) = try Self.shared.get()
        let users = try UsersFile.read(directory)
        XCTAssertEqual(users, summary.users)
        XCTAssertEqual(users.map(\.id), Array(0...12))
        let heldOut = Set(users.filter(\.heldOut).map(\.id))
        XCTAssertEqual(heldOut, [9, 10, 11, 12])
        let manifest = try DatasetManifest.read(directory: directory)
        XCTAssertEqual(manifest.resolution, 32)
        XCTAssertEqual(manifest.splits, summary.rows)
        XCTAssertEqual(Set(summary.rows.keys), ["train", "validation", "test", "validation_unique", "test_unique",
                                                "heldout_train", "heldout_validation", "heldout_test"])
        var rankingIDs: Set<Int> = []
        var pairsPerUser: [Int: Int] = [:]
        for split in summary.rows.keys {
            let splitRows = try rows(directory, split)
            XCTAssertEqual(splitRows.count, summary.rows[split])
            var perCaption: [String: Int] = [:]
            for row in splitRows { perCaption[row.caption, default: 0] += 1 }
            for row in splitRows {
                XCTAssertTrue(rankingIDs.insert(row.rankingID).inserted)
                pairsPerUser[row.userID, default: 0] += 1
                let prompt = try ShapesPrompt(parsing: row.caption)
                // Prompts stay in their split; held-out users stay in the heldout_ files.
                let base = split.replacingOccurrences(of: "heldout_", with: "").replacingOccurrences(of: "_unique", with: "")
                XCTAssertEqual(prompt.split.rawValue, base)
                XCTAssertEqual(heldOut.contains(row.userID), split.hasPrefix("heldout_"))
                if split.hasSuffix("_unique") { XCTAssertEqual(row.userID, 0) }
                XCTAssertEqual(row.numExamplePerPrompt, perCaption[row.caption])
                XCTAssertEqual(row.label0 + row.label1, 1)
                XCTAssertEqual(row.bestImageUID, row.isTie ? "" : row.label0 == 1 ? row.image0UID : row.image1UID)
                XCTAssertTrue(Generator.all.map(\.name).contains(row.model0))
                XCTAssertTrue(Generator.all.map(\.name).contains(row.model1))
                XCTAssertTrue(row.hasLabel && row.areDifferent)
                XCTAssertNotNil(try ShapesPrompt(parsing: try XCTUnwrap(row.caption0)).size, "truthful captions name a size")
                XCTAssertNotNil(try ShapesPrompt(parsing: try XCTUnwrap(row.caption1)).position)
                XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/" + row.jpg0))
            }
        }
        // One unique row per prompt of the split; every user labelled exactly its pair count.
        XCTAssertEqual(summary.rows["validation_unique"], ShapesPrompt.prompts(in: .validation).count)
        XCTAssertEqual(summary.rows["test_unique"], ShapesPrompt.prompts(in: .test).count)
        for u in users where u.id != 0 { XCTAssertEqual(pairsPerUser[u.id], u.pairCount) }
        XCTAssertEqual(pairsPerUser[0], 1500 + summary.rows["validation_unique"]! + summary.rows["test_unique"]!)
        // Both generators appear and the better one wins more often under the population user.
        let train = try rows(directory, "train").filter { $0.userID == 0 && !$0.isTie && $0.model0 != $0.model1 }
        let goodWins = train.filter { ($0.label0 == 1 ? $0.model0 : $0.model1) == Generator.good.name }.count
        XCTAssertGreaterThan(Double(goodWins) / Double(train.count), 0.6)
    }

    func testSameSeedSameBytes() throws {
        var config = SynthesisConfig()
        config.seed = 3
        config.populationPairs = 40
        config.uniqueSplits = false
        config.users = UserPopulationConfig(trainingPerArchetype: 1, heldOutPerArchetype: 1, minPairs: 5, maxPairs: 12)
        let a = Self.temporaryDirectory("a"), b = Self.temporaryDirectory("b")
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        try ShapesSynthesizer.synthesize(config, to: a)
        try ShapesSynthesizer.synthesize(config, to: b)
        let files = try FileManager.default.subpathsOfDirectory(atPath: a).filter { !$0.hasSuffix("images") }.sorted()
        XCTAssertEqual(files, try FileManager.default.subpathsOfDirectory(atPath: b).filter { !$0.hasSuffix("images") }.sorted())
        XCTAssertGreaterThan(files.count, 80)
        for f in files {
            if f.hasSuffix(".jsonl") {
                // Rows compared as values: the writer's JSONEncoder does not fix the key order on Linux.
                let split = String(f.dropLast(".jsonl".count))
                XCTAssertEqual(try rows(a, split), try rows(b, split), f)
            } else if f == DatasetManifest.fileName {
                XCTAssertEqual(try DatasetManifest.read(directory: a), try DatasetManifest.read(directory: b))
            } else {
                XCTAssertEqual(FileManager.default.contents(atPath: a + "/" + f), FileManager.default.contents(atPath: b + "/" + f), f)
            }
        }
        // Another seed, written over the existing dataset b, replaces it with different pairs.
        config.seed = 4
        try ShapesSynthesizer.synthesize(config, to: b)
        XCTAssertNotEqual(try rows(a, "train"), try rows(b, "train"))
        XCTAssertEqual(try DatasetManifest.read(directory: b).metadata["seed"], "4")
    }

    func testBadSettingsAndDestinations() throws {
        var config = SynthesisConfig()
        config.resolution = 8
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("--resolution")) }
        config = SynthesisConfig()
        config.populationPairs = -1
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("--population-pairs")) }
        let dir = Self.temporaryDirectory("occupied")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/notes.txt", contents: Data("mine".utf8)))
        config = SynthesisConfig()
        config.populationPairs = 1
        XCTAssertThrowsError(try ShapesSynthesizer.synthesize(config, to: dir)) { error in
            XCTAssertTrue("\(error)".contains("--out") && "\(error)".contains("no dataset.json"), "\(error)")
        }
        XCTAssertThrowsError(try UsersFile.read(dir)) { XCTAssertTrue("\($0)".contains("users.json: not found")) }
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/users.json", contents: Data("{\"format\": \"shapes-users\"}".utf8)))
        XCTAssertThrowsError(try UsersFile.read(dir)) { XCTAssertTrue("\($0)".contains("missing key"), "\($0)") }
        XCTAssertThrowsError(try UsersFile.user(99, in: [SimulatedUser.population(pairCount: 1)])) {
            XCTAssertEqual($0 as? ShapesWorldError, .unknownUser(id: 99, available: "0"))
        }
    }
}
