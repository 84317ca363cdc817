// stray — scipy.sparse CSR matrices in .npz files.
//
// The layout scipy.sparse.save_npz writes (and load_npz reads): a zip of
// .npy members `format` (b'csr'), `shape` ([2] int), `data` ([nnz]),
// `indices` ([nnz]) and `indptr` ([rows + 1]). Members may be stored or
// deflated (save_npz compresses by default). Zip64 is understood.
//
// Thread safety: both functions may run concurrently on different paths
// (they share no state); concurrent calls on one path behave as the files
// do (a write is atomic by rename).
#pragma once

#include <string>

#include "stray/core/matrix.hpp"

namespace stray {

/// Reads a CSR matrix saved by scipy.sparse.save_npz (compressed or not).
/// Values of any numeric dtype convert to float32 (non-finite values are
/// kept; callers validate), column indices to int32 and indptr to int64.
/// Throws ErrorCode::io_error when the file cannot be opened or read, and
/// ErrorCode::parse_error for anything malformed: not a zip, a missing
/// member, a format other than 'csr' (convert with .tocsr() first), a
/// column index ≥ 2^31 or outside [0, cols), an inconsistent indptr, a
/// CRC mismatch. Messages name the function, the path and the member.
///
/// The file is untrusted: members are read in order (format, shape, indptr,
/// indices, data), and each one's .npy header must agree with the size the
/// zip declares and with the count the members before it imply before its
/// data are inflated or allocated; inflation stops at the declared size
/// (output past it is a parse_error), so a zip bomb costs no more than the
/// arrays it claims. An array larger than the machine's memory is
/// ErrorCode::out_of_memory.
CsrMatrix read_npz_csr(const std::string& path);

/// Writes `m` as scipy.sparse.save_npz(compressed=False) would, with data
/// float32, indices int32 and indptr int64, members stored uncompressed
/// (zip64 when a member or offset passes 4 GiB). The file is written to a
/// temporary name and renamed. The structure is checked first
/// (ErrorCode::invalid_argument when indptr or indices are inconsistent).
void write_npz_csr(const std::string& path, const CsrView& m);

}  // namespace stray
