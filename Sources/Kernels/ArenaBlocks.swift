/// The bookkeeping of `BufferPool`'s arenas (mapped address ranges) and the blocks they are cut into: best fit
/// on `take` (the smallest free block that holds the request, split so the rest stays free), and on `give` a
/// freed block merges with free neighbours of its arena, so a step's mix of sizes is served from the same pages
/// every step. Addresses and sizes only (multiples of `BufferPool.pageBytes`); the pool maps and unmaps memory.
public struct ArenaBlocks: Sendable {
    public init() {}

    public struct Block: Sendable {
        public internal(set) var size: Int
        public internal(set) var isFree: Bool
        public let arena: UInt
    }

    /// Every block by start address, and the start of the block ending at each end address (left neighbours).
    public private(set) var blocks: [UInt: Block] = [:]
    private var startOfBlockEnding: [UInt: UInt] = [:]
    /// Free blocks sorted by (size, start), for best fit by binary search.
    public private(set) var free: [(size: Int, start: UInt)] = []
    /// Arena start → size.
    public private(set) var arenas: [UInt: Int] = [:]

    public var heldBytes: Int { arenas.values.reduce(0, +) }

    /// A new arena of `size` bytes at `start`, its first `taken` bytes in use (the request that made it map).
    public mutating func addArena(start: UInt, size: Int, taken: Int) {
        precondition(taken > 0 && taken <= size && arenas[start] == nil, "ArenaBlocks.addArena: bad arena \(start) \(size) \(taken)")
        arenas[start] = size
        insert(start: start, Block(size: taken, isFree: false, arena: start))
        if taken < size { insert(start: start + UInt(taken), Block(size: size - taken, isFree: true, arena: start)) }
    }

    /// The start of a block of exactly `size` bytes cut from the smallest free block that holds it, or nil.
    public mutating func take(_ size: Int) -> UInt? {
        let i = firstFreeIndex(notSmallerThan: size)
        guard i < free.count else { return nil }
        let (blockSize, start) = free.remove(at: i)
        let arena = blocks[start]!.arena
        blocks[start]!.isFree = false
        if blockSize > size {
            blocks[start]!.size = size
            startOfBlockEnding[start + UInt(blockSize)] = nil
            startOfBlockEnding[start + UInt(size)] = start
            insert(start: start + UInt(size), Block(size: blockSize - size, isFree: true, arena: arena))
        }
        return start
    }

    /// Frees the block at `start` (merged with free neighbours in its arena); its size, or nil if no block in
    /// use starts there.
    public mutating func give(_ start: UInt) -> Int? {
        guard let block = blocks[start], !block.isFree else { return nil }
        remove(start: start)
        var first = start, size = block.size
        if let right = blocks[start + UInt(size)], right.isFree, right.arena == block.arena {
            remove(start: start + UInt(size))
            size += right.size
        }
        if let leftStart = startOfBlockEnding[start], let left = blocks[leftStart], left.isFree, left.arena == block.arena {
            remove(start: leftStart)
            first = leftStart
            size += left.size
        }
        insert(start: first, Block(size: size, isFree: true, arena: block.arena))
        return block.size
    }

    /// Removes and returns the largest arena that is one free block, or nil when every arena has a block in use.
    public mutating func removeLargestFreeArena() -> (start: UInt, size: Int)? {
        let unused = arenas.filter { arena in
            guard let first = blocks[arena.key] else { return false }
            return first.isFree && first.size == arena.value
        }
        guard let (start, size) = unused.max(by: { ($0.value, $0.key) < ($1.value, $1.key) }) else { return nil }
        remove(start: start)
        arenas[start] = nil
        return (start, size)
    }

    // MARK: Index maintenance

    private func firstFreeIndex(notSmallerThan size: Int, start: UInt = 0) -> Int {
        var low = 0, high = free.count
        while low < high {
            let mid = (low + high) / 2
            if (free[mid].size, free[mid].start) < (size, start) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private mutating func insert(start: UInt, _ block: Block) {
        blocks[start] = block
        startOfBlockEnding[start + UInt(block.size)] = start
        if block.isFree { free.insert((block.size, start), at: firstFreeIndex(notSmallerThan: block.size, start: start)) }
    }

    private mutating func remove(start: UInt) {
        guard let block = blocks.removeValue(forKey: start) else { return }
        startOfBlockEnding[start + UInt(block.size)] = nil
        if block.isFree {
            let i = firstFreeIndex(notSmallerThan: block.size, start: start)
            precondition(i < free.count && free[i].start == start, "ArenaBlocks: free index out of step")
            free.remove(at: i)
        }
    }
}
