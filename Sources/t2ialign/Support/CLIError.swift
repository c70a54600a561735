import ArgumentParser
import Foundation

/// A user-facing failure: printed as "error: …" with exit code 1, never a stack trace.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// Runs `body`, turning any library error into its description (library errors say what to do).
    static func wrap(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as CLIError {
            throw ValidationFailure(e.description)
        } catch let e as ExitCode {
            throw e
        } catch {
            throw ValidationFailure(String(describing: error))
        }
    }
}

/// What ArgumentParser prints for a failed command: "Error: <message>".
struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prompt lists: one prompt per line, blank lines and lines starting with # ignored.
enum PromptFile {
    static func read(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read prompts file \(path); give a text file with one prompt per line")
        }
        let prompts = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !prompts.isEmpty else { throw CLIError("prompts file \(path) holds no prompt") }
        return prompts
    }

    /// `count` prompts evenly spread through `list` (all of them when it is shorter).
    static func evenlySpread(_ list: [String], count: Int) -> [String] {
        let n = min(count, list.count)
        return (0..<n).map { list[$0 * list.count / n] }
    }
}
