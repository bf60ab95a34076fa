#!/usr/bin/env bash
# rdma_channel_tcp: an SMB2 WRITE or READ that asks for an RDMA channel
# (Channel SMB2_CHANNEL_RDMA_V1 with a buffer descriptor V1, [MS-SMB2]
# 2.2.19/2.2.21) over TCP gets STATUS_INVALID_PARAMETER from smbrefd: RDMA
# channels need an SMB Direct connection.  The requests come from an
# independent client (impacket 0.10 at 3.0, its raw SMB2Write/SMB2Read
# structures); the same WRITE/READ with Channel NONE still work on the same
# session.  (The RDMA path itself runs over the loopback queue pair in
# tests/unit/test_transport_rdma.c: no RDMA device here.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoint_common.inc"
/usr/bin/python3 -c 'import impacket' 2>/dev/null || skip "python3-impacket not installed"

ep_policy "$T/p.xml" rdmachan server.dialect.min=3.0 server.dialect.max=3.1.1
ep_start "$T/p.xml"

step "RDMA channel over TCP refused, Channel NONE served"
/usr/bin/python3 - "$PORT" <<'PY'
import struct, sys
from impacket import smb3structs as s3
from impacket.smbconnection import SMBConnection
from impacket.nt_errors import STATUS_INVALID_PARAMETER, STATUS_SUCCESS
port = int(sys.argv[1])
c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port, preferredDialect=s3.SMB2_DIALECT_30)
c.login('alice', 'Secret-1')
smb = c.getSMBServer()
tid = c.connectTree('share')
fid = c.createFile(tid, 'rdma.bin')
desc = struct.pack('<QII', 0x1000, 0x1234, 4096)  # buffer descriptor V1

def send(cmd, body):
    p = smb.SMB_PACKET()
    p['Command'] = cmd
    p['TreeID'] = tid
    p['Data'] = body
    return smb.recvSMB(smb.sendSMB(p))['Status']

w = s3.SMB2Write()
w['FileID'] = fid
w['DataOffset'] = 64 + 48
w['Length'] = 0
w['Channel'] = 1  # SMB2_CHANNEL_RDMA_V1
w['RemainingBytes'] = 4096
w['WriteChannelInfoOffset'] = 64 + 48
w['WriteChannelInfoLength'] = len(desc)
w['Buffer'] = desc
st = send(s3.SMB2_WRITE, w)
print("WRITE with RDMA_V1 over TCP: 0x%08x" % st)
assert st == STATUS_INVALID_PARAMETER, hex(st)

r = s3.SMB2Read()
r['FileID'] = fid
r['Length'] = 4096
r['Channel'] = 1
r['ReadChannelInfoOffset'] = 64 + 48
r['ReadChannelInfoLength'] = len(desc)
r['Buffer'] = desc
st = send(s3.SMB2_READ, r)
print("READ with RDMA_V1 over TCP: 0x%08x" % st)
assert st == STATUS_INVALID_PARAMETER, hex(st)

data = bytes(range(256)) * 16
assert c.writeFile(tid, fid, data) == len(data)
got = c.readFile(tid, fid, 0, len(data))
assert got == data, "Channel NONE round trip differs"
print("Channel NONE: write/read of %d bytes served" % len(data))
c.closeFile(tid, fid)
c.logoff()
PY
[ $? -eq 0 ] || fail "RDMA channel over TCP not refused as it should be"
echo PASS
