/*
 * rdma_verbs.h - the "verbs" RDMA stack (rdma_verbs.c): librdmacm and
 * libibverbs, one RC queue pair per connection, RDMA CM port space TCP
 * (iWARP, RoCE, InfiniBand).  It implements rdma_verbs_listen and
 * rdma_verbs_connect of smbd_qp.h.
 *
 * No machine this project is tested on has an RDMA device (no HCA, no
 * rxe/siw): only the -ENODEV refusal of both functions ever ran.
 *
 * Invariants: see smbd_qp.h.
 * Must never: hand the HCA memory that is not registered.
 */
#pragma once

/* Is there an RDMA device at all?  0, or -ENODEV. */
int rdma_verbs_device_present(void);
