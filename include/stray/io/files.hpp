// stray — writing output files safely.
//
// Thread safety: safe to call concurrently (each call has its own
// temporary file); the last rename to a path wins.
#pragma once

#include <string>
#include <string_view>

namespace stray {

/// Writes `bytes` to `path` atomically: into a uniquely named temporary
/// file in the same directory, flushed and synced, then renamed over
/// `path`. Readers never see a half-written file; on failure the temporary
/// is removed, `path` is untouched, and ErrorCode::io_error names the path.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace stray
