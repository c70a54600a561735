import Datasets
import Foundation
import ImageIO
import XCTest

/// Transforms, batches and the seeded, resumable epoch iterator.
final class PairLoaderTests: TemporaryDirectoryTestCase {
    func testTransformMatchesNumpyAreaResizeAndCentreCrop() throws {
        // An 8×4 image, pixel (x, y, c) = (x·29 + y·13 + c·7) % 256.
        var pixels: [UInt8] = []
        for y in 0..<4 { for x in 0..<8 { for c in 0..<3 { pixels.append(UInt8((x * 29 + y * 13 + c * 7) % 256)) } } }
        let source = RGBImage(width: 8, height: 4, pixels: pixels)
        let t = try ImageTransform(resolution: 2)
        // numpy: small = img.reshape(2,2,4,2,3).mean(axis=(1,3)); crop = floor(small[:,1:3] + 0.5)
        //        chw = crop.transpose(2,0,1)/127.5 - 1
        let out = t.apply(source)
        XCTAssertEqual(out.pixels, [79, 86, 93, 137, 144, 151, 105, 112, 119, 163, 170, 177])
        let chw = t.modelInput(source)
        let expected: [Float] = [-0.380392, 0.07451, -0.176471, 0.278431, -0.32549, 0.129412,
                                 -0.121569, 0.333333, -0.270588, 0.184314, -0.066667, 0.388235]
        XCTAssertEqual(chw.count, 12)
        for (a, b) in zip(chw, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // Flip mirrors the columns of the cropped image.
        XCTAssertEqual(t.apply(source, flip: true).pixels, [137, 144, 151, 79, 86, 93, 163, 170, 177, 105, 112, 119])
        // Already at the resolution: unchanged.
        XCTAssertEqual(t.apply(out), out)
        XCTAssertThrowsError(try ImageTransform(resolution: 0))
    }

    func dataset(_ n: Int, size: (Int, Int) = (8, 8), options: PairDatasetOptions = .init()) throws -> PairDataset {
        try makeDataset((0..<n).map { row($0, label0: $0 % 3 == 0 ? 0 : 1, user: $0 % 4, caption0: "c\($0)a", caption1: "c\($0)b") },
                        resolution: 4, imageSize: size)
        return try PairDataset(directory: temp, split: "train", options: options)
    }

    func testBatchContents() throws {
        let ds = try dataset(6, size: (12, 8))
        let loader = try PairLoader(dataset: ds, batchSize: 3, seed: 1, shuffle: false)
        let b = try loader.next()
        XCTAssertEqual(b.size, 3)
        XCTAssertEqual(b.imageShape, [3, 3, 4, 4])
        XCTAssertEqual(b.winners.count, 3 * 48)
        XCTAssertEqual(b.losers.count, 3 * 48)
        XCTAssertEqual(b.pairIndices, [0, 1, 2])
        XCTAssertEqual(b.prompts, ["prompt 0", "prompt 1", "prompt 2"])
        // Row 0 has label_0 = 0: image 1 and caption_1 come first.
        XCTAssertEqual(b.winnerCaptions, ["c0b", "c1a", "c2a"])
        XCTAssertEqual(b.loserCaptions, ["c0a", "c1b", "c2b"])
        XCTAssertEqual(b.userIDs, [0, 1, 2])
        XCTAssertEqual(b.isTie, [false, false, false])
        XCTAssertEqual(b.lines, [1, 2, 3])
        XCTAssertEqual(b.flipped, [false, false, false])
        // Pixel values: the transformed images, winner first.
        let t = ds.transform
        for i in 0..<3 {
            let images = try ds.images(of: try ds.pair(at: i))
            XCTAssertEqual(Array(b.winners[(i * 48)..<((i + 1) * 48)]), t.modelInput(images.winner))
            XCTAssertEqual(Array(b.losers[(i * 48)..<((i + 1) * 48)]), t.modelInput(images.loser))
        }
        XCTAssertTrue(b.winners.allSatisfy { $0 >= -1 && $0 <= 1 })
        // Row 0's winner is image 1 (fill 5), its loser image 0 (fill 0): check one red-channel value.
        XCTAssertEqual(b.winners[5], Float(5) / 127.5 - 1, accuracy: 1e-6)
        XCTAssertEqual(b.losers[5], -1, accuracy: 1e-6)
    }

    func testShuffleIsSeededAndEpochsDiffer() throws {
        let a = PairLoader.order(count: 50, seed: 7, epoch: 0)
        XCTAssertEqual(a, PairLoader.order(count: 50, seed: 7, epoch: 0))
        XCTAssertNotEqual(a, PairLoader.order(count: 50, seed: 7, epoch: 1))
        XCTAssertNotEqual(a, PairLoader.order(count: 50, seed: 8, epoch: 0))
        XCTAssertEqual(a.sorted(), Array(0..<50))
        XCTAssertEqual(PairLoader.order(count: 5, seed: 7, epoch: 0, shuffle: false), [0, 1, 2, 3, 4])
    }

    func testEpochsCoverEveryPairOnceAndDropTheRemainder() throws {
        let ds = try dataset(7)
        let loader = try PairLoader(dataset: ds, batchSize: 3, seed: 3)
        XCTAssertEqual(loader.batchesPerEpoch, 2)
        let epoch0 = try (0..<2).flatMap { _ in try loader.next().pairIndices }
        XCTAssertEqual(Set(epoch0).count, 6)
        XCTAssertEqual(epoch0, Array(PairLoader.order(count: 7, seed: 3, epoch: 0).prefix(6)))
        let next = try loader.next()
        XCTAssertEqual(loader.position, LoaderPosition(epoch: 1, offset: 3))
        XCTAssertEqual(next.pairIndices, Array(PairLoader.order(count: 7, seed: 3, epoch: 1).prefix(3)))

        let keep = try PairLoader(dataset: ds, batchSize: 3, seed: 3, dropLast: false)
        XCTAssertEqual(keep.batchesPerEpoch, 3)
        XCTAssertEqual(try (0..<3).map { _ in try keep.next().size }, [3, 3, 1])
    }

    func testPoolServesOnlyItsPairsEachOncePerEpochAndResumes() throws {
        let ds = try dataset(10)
        let pool = [1, 2, 5, 7, 8]
        let loader = try PairLoader(dataset: ds, batchSize: 2, seed: 4, flip: true, pool: pool)
        XCTAssertEqual(loader.batchesPerEpoch, 2)
        let epoch0 = try (0..<2).flatMap { _ in try loader.next().pairIndices }
        XCTAssertEqual(epoch0, Array(PairLoader.order(count: 5, seed: 4, epoch: 0).prefix(4).map { pool[$0] }))
        XCTAssertEqual(Set(epoch0).count, 4)
        XCTAssertTrue(Set(epoch0).isSubset(of: pool))
        let position = loader.position
        XCTAssertEqual(position, LoaderPosition(epoch: 0, offset: 4))
        let next = try loader.next()
        XCTAssertEqual(next.pairIndices, Array(PairLoader.order(count: 5, seed: 4, epoch: 1).prefix(2).map { pool[$0] }))
        let resumed = try PairLoader(dataset: ds, batchSize: 2, seed: 4, flip: true, position: position, pool: pool)
        XCTAssertEqual(try resumed.next(), next)
        XCTAssertThrowsError(try PairLoader(dataset: ds, batchSize: 2, seed: 4, pool: [])) { XCTAssertTrue("\($0)".contains("subset of pairs is empty"), "\($0)") }
        XCTAssertThrowsError(try PairLoader(dataset: ds, batchSize: 2, seed: 4, pool: [3, 10])) { XCTAssertTrue("\($0)".contains("outside the 10 pairs"), "\($0)") }
        XCTAssertThrowsError(try PairLoader(dataset: ds, batchSize: 3, seed: 4, pool: [1, 2])) { XCTAssertTrue("\($0)".contains("larger than the 2 usable pairs"), "\($0)") }
    }

    func testResumeFromAPositionGivesTheSameBatches() throws {
        let ds = try dataset(10)
        let full = try PairLoader(dataset: ds, batchSize: 4, seed: 11, flip: true)
        var batches: [PairBatch] = []
        var positions: [LoaderPosition] = []
        for _ in 0..<6 {
            positions.append(full.position)
            batches.append(try full.next())
        }
        // Resume after batch 3 (saved position round-trips through JSON like a checkpoint).
        let saved = try JSONDecoder().decode(LoaderPosition.self, from: JSONEncoder().encode(positions[3]))
        let resumed = try PairLoader(dataset: ds, batchSize: 4, seed: 11, flip: true, position: saved)
        for i in 3..<6 { XCTAssertEqual(try resumed.next(), batches[i], "batch \(i)") }
        XCTAssertEqual(resumed.position, full.position)
        // Independent of the thread count: a second run from scratch gives identical batches.
        let again = try PairLoader(dataset: ds, batchSize: 4, seed: 11, flip: true)
        XCTAssertEqual(try again.next(), batches[0])
        XCTAssertThrowsError(try PairLoader(dataset: ds, batchSize: 4, seed: 11, position: LoaderPosition(epoch: 0, offset: 99)))
    }

    func testFlipIsOnlyWhenAskedAndMirrorsBothImages() throws {
        let ds = try dataset(8)
        let plain = try PairLoader(dataset: ds, batchSize: 8, seed: 5, shuffle: false)
        XCTAssertEqual(try plain.next().flipped, Array(repeating: false, count: 8))
        let aug = try PairLoader(dataset: ds, batchSize: 8, seed: 5, shuffle: false, flip: true)
        let b = try aug.next()
        XCTAssertEqual(b.flipped, (0..<8).map { PairLoader.flips(seed: 5, epoch: 0, index: $0) })
        XCTAssertTrue(b.flipped.contains(true) && b.flipped.contains(false), "\(b.flipped)")
        let t = ds.transform
        for i in 0..<8 {
            let images = try ds.images(of: try ds.pair(at: i))
            XCTAssertEqual(Array(b.winners[(i * 48)..<((i + 1) * 48)]), t.modelInput(images.winner, flip: b.flipped[i]))
            XCTAssertEqual(Array(b.losers[(i * 48)..<((i + 1) * 48)]), t.modelInput(images.loser, flip: b.flipped[i]))
        }
    }

    /// Streaming: opening indexes rows without decoding images, so an image broken after opening is
    /// found by the batch that decodes it — an error naming line and column, or a skip when lenient.
    func testImagesAreDecodedOnDemand() throws {
        let ds = try dataset(4)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path("images/u2a.png")))
        let loader = try PairLoader(dataset: ds, batchSize: 2, seed: 0, shuffle: false)
        XCTAssertEqual(try loader.next().pairIndices, [0, 1])
        let error = expectRowError { _ = try loader.next() }
        XCTAssertEqual(error?.line, 3)
        XCTAssertEqual(error?.column, "jpg_0")
        XCTAssertEqual(error?.defect, .undecodableImage)

        let lenient = try PairDataset(directory: temp, split: "train", options: .init(lenient: true))
        let skipping = try PairLoader(dataset: lenient, batchSize: 2, seed: 0, shuffle: false)
        XCTAssertEqual(try skipping.next().pairIndices, [0, 1])
        // Pair 2 fails and pair 3 alone cannot fill a batch: like any incomplete last batch it is dropped,
        // and the next epoch starts.
        XCTAssertEqual(try skipping.next().pairIndices, [0, 1])
        XCTAssertEqual(skipping.position, LoaderPosition(epoch: 1, offset: 2))
        XCTAssertEqual(skipping.imageFailures.map(\.line), [3])
        XCTAssertEqual(skipping.imageFailures.first?.column, "jpg_0")
    }

    func testBatchSizeLargerThanDataset() throws {
        let ds = try dataset(3)
        XCTAssertThrowsError(try PairLoader(dataset: ds, batchSize: 4, seed: 0))
        XCTAssertEqual(try PairLoader(dataset: ds, batchSize: 4, seed: 0, dropLast: false).next().size, 3)
        XCTAssertThrowsError(try PairLoader(dataset: ds, batchSize: 0, seed: 0))
    }
}
