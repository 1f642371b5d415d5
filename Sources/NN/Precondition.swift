/// Stops with `message` when `condition` is false — in every build configuration.
///
/// This module-internal function shadows the standard library's `precondition`, whose message
/// is dropped in optimised (`-O`) builds. Wrong module paths and shapes are programmer
/// mistakes, but the person who makes them usually runs a release build and needs the
/// message that names both shapes.
@inline(__always)
func precondition(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String = String(),
                  file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}

/// Stops with `message`, in every build configuration (see `precondition`).
func preconditionFailure(_ message: @autoclosure () -> String = String(),
                         file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message(), file: file, line: line)
}
