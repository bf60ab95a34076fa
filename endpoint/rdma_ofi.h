/*
 * rdma_ofi.h - the "ofi" RDMA stack (rdma_ofi.c): libfabric FI_EP_MSG
 * endpoints with FI_MSG|FI_RMA over a provider named by the caller
 * ("tcp": real one-sided RMA over ordinary sockets, so SMB Direct with
 * RDMA reads and writes runs between two processes on a machine without an
 * RDMA device).  It implements rdma_ofi_listen and rdma_ofi_connect of
 * smbd_qp.h.  Not wire-compatible with Windows SMB Direct peers.
 *
 * Invariants: see smbd_qp.h; a buffer descriptor's token is the memory
 * region's key, which the stack chooses itself (a 32-bit counter) unless
 * the provider insists on its own keys (FI_MR_PROV_KEY), and then a key
 * wider than 32 bits fails register_mr with -EOVERFLOW: the peer must use
 * the real key and SMB Direct carries only 32 bits of it.
 * Must never: let the peer reach memory not registered for it.
 */
#pragma once

#include <stdbool.h>

/* Does libfabric have an FI_EP_MSG provider with FI_MSG|FI_RMA by this
 * name?  0, or -ENODEV. */
int rdma_ofi_provider_present(const char *provider);
