import XCTest
import Kernels

/// `ArenaBlocks`, the pool's bookkeeping, on plain numbers (no memory is mapped).
final class ArenaBlocksTests: XCTestCase {
    let page = 4096

    func testBestFitSplitsAndMergesBack() throws {
        var arenas = ArenaBlocks()
        arenas.addArena(start: 1 << 20, size: 100 * page, taken: 10 * page)        // [0, 10) used, [10, 100) free
        arenas.addArena(start: 1 << 30, size: 30 * page, taken: 30 * page)         // all used
        XCTAssertEqual(arenas.give(1 << 30), 30 * page)                             // now one free block of 30
        // 20 pages: the 30-page block is the best fit (the 90-page one is larger).
        let a = try XCTUnwrap(arenas.take(20 * page))
        XCTAssertEqual(a, 1 << 30)
        // 50 pages: only the 90-page block holds it; cut from its start.
        let b = try XCTUnwrap(arenas.take(50 * page))
        XCTAssertEqual(b, (1 << 20) + UInt(10 * page))
        XCTAssertNil(arenas.take(60 * page))
        XCTAssertEqual(arenas.free.map(\.size), [10 * page, 40 * page])
        // Freeing b merges it with the 40 free pages after it; freeing the first block merges all three.
        XCTAssertEqual(arenas.give(b), 50 * page)
        XCTAssertEqual(arenas.give(1 << 20), 10 * page)
        XCTAssertNil(arenas.give(1 << 20), "already free")
        XCTAssertEqual(arenas.free.map(\.size), [10 * page, 100 * page])
        // The 100-page arena is unused now, the 30-page one is not.
        let removed = try XCTUnwrap(arenas.removeLargestFreeArena())
        XCTAssertEqual(removed.start, 1 << 20)
        XCTAssertEqual(removed.size, 100 * page)
        XCTAssertNil(arenas.removeLargestFreeArena())
        XCTAssertEqual(arenas.heldBytes, 30 * page)
    }

    /// Blocks of different arenas never merge, even when the address ranges touch.
    func testNeighbouringArenasStaySeparate() {
        var arenas = ArenaBlocks()
        arenas.addArena(start: 0, size: 4 * page, taken: 4 * page)
        arenas.addArena(start: UInt(4 * page), size: 4 * page, taken: 4 * page)
        _ = arenas.give(0)
        _ = arenas.give(UInt(4 * page))
        XCTAssertEqual(arenas.free.map(\.size), [4 * page, 4 * page])
        XCTAssertNil(arenas.take(8 * page))
    }

    /// Random takes and gives: blocks in use never overlap, every arena is exactly covered by its blocks, no two
    /// free neighbours stay unmerged, and giving everything back leaves one free block per arena.
    func testRandomUseKeepsTheInvariants() throws {
        var arenas = ArenaBlocks()
        var rng = RNG(seed: 17)
        var used: [UInt: Int] = [:]
        var nextArena: UInt = 1 << 32
        for _ in 0..<3000 {
            if used.isEmpty || rng.nextInt(below: 5) < 3 {
                let size = (1 + rng.nextInt(below: 64)) * page
                if let start = arenas.take(size) {
                    used[start] = size
                } else {
                    let arenaSize = size + rng.nextInt(below: 3) * 16 * page
                    arenas.addArena(start: nextArena, size: arenaSize, taken: size)
                    used[nextArena] = size
                    nextArena += UInt(arenaSize) + UInt(rng.nextInt(below: 2) * page)   // sometimes adjacent
                }
            } else {
                let start = Array(used.keys).sorted()[rng.nextInt(below: used.count)]
                XCTAssertEqual(arenas.give(start), used.removeValue(forKey: start))
            }
        }
        try checkInvariants(arenas, used: used)
        for start in used.keys { _ = arenas.give(start) }
        try checkInvariants(arenas, used: [:])
        XCTAssertEqual(arenas.free.count, arenas.arenas.count)
    }

    private func checkInvariants(_ arenas: ArenaBlocks, used: [UInt: Int]) throws {
        for (arenaStart, arenaSize) in arenas.arenas {
            let blocks = arenas.blocks.filter { $0.value.arena == arenaStart }.sorted { $0.key < $1.key }
            var position = arenaStart
            var previousFree = false
            for (start, block) in blocks {
                XCTAssertEqual(start, position, "blocks tile the arena")
                XCTAssertFalse(previousFree && block.isFree, "free neighbours are merged")
                XCTAssertEqual(block.isFree, used[start] == nil)
                if let size = used[start] { XCTAssertEqual(block.size, size) }
                position += UInt(block.size)
                previousFree = block.isFree
            }
            XCTAssertEqual(position, arenaStart + UInt(arenaSize))
        }
        XCTAssertEqual(arenas.free.count, arenas.blocks.values.filter(\.isFree).count)
        XCTAssertEqual(arenas.free.map(\.size), arenas.free.map(\.size).sorted())
    }
}
