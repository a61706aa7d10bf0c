#!/usr/bin/env python3
"""Generates the Tessera wire protocol golden vectors (version 3) from protos/PROTOCOL.md.

This is an independent implementation of the encoding written from the spec (not from the Swift
code), so the Swift tests that load these files check the Swift codec against a second reading
of the document. Run from anywhere: `python3 protos/vectors/generate.py`. Output is deterministic;
the files are committed, and CI only reads them.

Hex file format: whitespace-separated hex byte pairs; '#' starts a comment to the end of line.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- XXH3-64 (reference algorithm)
# XXH3_64bits(data, len): seed 0, the default secret — written from xxHash's doc/xxhash_spec.md,
# cross-checked against the `xxhash` package (the C library) for every length 0...4200 and
# around the 1 KiB block boundaries; kept dependency-free so anyone can regenerate the vectors.
M64 = (1 << 64) - 1
P32_1, P32_2, P32_3 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D
P64_1, P64_2, P64_3, P64_4, P64_5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                                     0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)
PRIME_MX1, PRIME_MX2 = 0x165667919E3779F9, 0x9FB21C651E98DF25
SECRET = bytes.fromhex(
    'b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f'
    'cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c'
    '3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8'
    'a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364'
    'eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e'
    '2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e')


def _u64(b, i):
    return struct.unpack_from('<Q', b, i)[0]


def _u32(b, i):
    return struct.unpack_from('<I', b, i)[0]


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _mul_fold(a, b):
    p = a * b
    return (p ^ (p >> 64)) & M64


def _xxh64_avalanche(h):
    h ^= h >> 33
    h = (h * P64_2) & M64
    h ^= h >> 29
    h = (h * P64_3) & M64
    return h ^ (h >> 32)


def _avalanche(h):
    h ^= h >> 37
    h = (h * PRIME_MX1) & M64
    return h ^ (h >> 32)


def _mix16(data, i, s):
    return _mul_fold(_u64(data, i) ^ _u64(SECRET, s), _u64(data, i + 8) ^ _u64(SECRET, s + 8))


def xxh3_64(data):
    n = len(data)
    if n == 0:
        return _xxh64_avalanche(_u64(SECRET, 56) ^ _u64(SECRET, 64))
    if n <= 3:
        combined = (data[0] << 16) | (data[n >> 1] << 24) | data[n - 1] | (n << 8)
        return _xxh64_avalanche(combined ^ (_u32(SECRET, 0) ^ _u32(SECRET, 4)))
    if n <= 8:
        h = ((_u32(data, n - 4) + (_u32(data, 0) << 32)) ^ (_u64(SECRET, 8) ^ _u64(SECRET, 16))) & M64
        h ^= _rotl(h, 49) ^ _rotl(h, 24)
        h = (h * PRIME_MX2) & M64
        h ^= (h >> 35) + n
        h = (h * PRIME_MX2) & M64
        return h ^ (h >> 28)
    if n <= 16:
        lo = _u64(data, 0) ^ (_u64(SECRET, 24) ^ _u64(SECRET, 32))
        hi = _u64(data, n - 8) ^ (_u64(SECRET, 40) ^ _u64(SECRET, 48))
        lo_swapped = struct.unpack('>Q', struct.pack('<Q', lo))[0]
        return _avalanche((n + lo_swapped + hi + _mul_fold(lo, hi)) & M64)
    if n <= 128:
        acc = n * P64_1
        for k, bound in enumerate((0, 32, 64, 96)):
            if n > bound:
                acc += _mix16(data, 16 * k, 32 * k) + _mix16(data, n - 16 * (k + 1), 32 * k + 16)
        return _avalanche(acc & M64)
    if n <= 240:
        acc = n * P64_1
        for i in range(8):
            acc += _mix16(data, 16 * i, 16 * i)
        acc = _avalanche(acc & M64)
        for i in range(8, n // 16):
            acc += _mix16(data, 16 * i, 16 * (i - 8) + 3)
        acc += _mix16(data, n - 16, 136 - 17)
        return _avalanche(acc & M64)
    # > 240 B: 64-byte stripes, 16 per 1 KiB block, the accumulators scrambled after each block.
    acc = [P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1]

    def stripe(offset, secret_offset):
        for i in range(8):
            value = _u64(data, offset + 8 * i)
            keyed = value ^ _u64(SECRET, secret_offset + 8 * i)
            acc[i ^ 1] = (acc[i ^ 1] + value) & M64
            acc[i] = (acc[i] + (keyed & 0xFFFFFFFF) * (keyed >> 32)) & M64

    blocks = (n - 1) // 1024
    for b in range(blocks):
        for j in range(16):
            stripe(1024 * b + 64 * j, 8 * j)
        for i in range(8):
            a = acc[i] ^ (acc[i] >> 47)
            acc[i] = ((a ^ _u64(SECRET, 128 + 8 * i)) * P32_1) & M64
    for j in range(((n - 1) - 1024 * blocks) // 64):
        stripe(1024 * blocks + 64 * j, 8 * j)
    stripe(n - 64, 192 - 64 - 7)
    h = n * P64_1
    for i in range(4):
        h += _mul_fold(acc[2 * i] ^ _u64(SECRET, 11 + 16 * i), acc[2 * i + 1] ^ _u64(SECRET, 19 + 16 * i))
    return _avalanche(h & M64)


# Known answers from the reference implementation (python-xxhash 4.1.0, xxh3_64_intdigest).
assert xxh3_64(b'') == 0x2D06800538D394C2
assert xxh3_64(b'abc') == 0x78AF5F94892F3950
assert xxh3_64(b'The quick brown fox jumps over the lazy dog') == 0xCE7D19A5418FB365
assert xxh3_64(bytes(i & 0xFF for i in range(200))) == 0xF42A8864FEAF0703
assert xxh3_64(bytes((i * 7 + 3) & 0xFF for i in range(2100))) == 0x1CA133696E7DA68D

# ---------------------------------------------------------------- encoder from the spec
VERSION = 3  # PROTOCOL.md §8: v2 added SUBMIT.mergeBursts/burstGapMillis and TaskKind 3 (mergeTile); v3 FailureCode 8 (inputNotCached)
TYPES = {'HELLO': 0x01, 'WELCOME': 0x02, 'REFUSE': 0x03, 'CREDIT': 0x04, 'HEARTBEAT': 0x05,
         'TASK': 0x06, 'RESULT': 0x07, 'FAILURE': 0x08, 'CANCEL': 0x09, 'GOODBYE': 0x0A,
         'SUBMIT': 0x20, 'SUBMITTED': 0x21, 'STATUS': 0x22, 'STATUS_REPLY': 0x23, 'CONTROL_ERROR': 0x24,
         'DRAIN': 0x0B, 'JOBS': 0x25, 'JOBS_REPLY': 0x26, 'JOB': 0x27, 'JOB_REPLY': 0x28, 'WORKERS': 0x29,
         'WORKERS_REPLY': 0x2A, 'EVENTS': 0x2B, 'EVENTS_REPLY': 0x2C, 'STEER': 0x2D, 'STEERED': 0x2E}

JOB_ROW_U64 = ('tasksQueued', 'tasksRunning', 'tasksSucceeded', 'tasksFailed', 'tasksCancelled', 'pixelsDone',
               'createdAtMillis', 'startedAtMillis', 'finishedAtMillis')


def job_row(fr, job, p):
    """JobRow (PROTOCOL.md §4.2)."""
    fr.u64(int(job['jobID']), p + 'jobID').str(job['name'], p + 'name').u8(job['state'], p + 'state')
    fr.bool(job['paused'], p + 'paused').i32(job['priority'], p + 'priority')
    for k in ('framesTotal', 'framesDone', 'framesFailed'):
        fr.u32(job[k], p + k)
    for k in JOB_ROW_U64:
        fr.u64(int(job[k]), p + k)


def state_counts(fr, counts, p):
    fr.count(len(counts), p)
    for i, c in enumerate(counts):
        fr.str(c['name'], '%s[%d].name' % (p, i)).u64(int(c['count']), '%s[%d].count' % (p, i))


class Frame:
    """Bytes plus a per-field annotation, so the .hex files document themselves."""

    def __init__(self):
        self.parts = []  # (bytes, comment)

    def raw(self, b, comment):
        self.parts.append((bytes(b), comment))
        return self

    def header(self, type_name, version=None, signature=b'TS'):
        version = VERSION if version is None else version
        self.raw(signature, 'signature "TS"')
        self.raw([version], 'version %d' % version)
        return self.raw([TYPES.get(type_name, type_name) if isinstance(type_name, str) else type_name],
                        'type %s' % type_name)

    def u8(self, v, name): return self.raw(struct.pack('<B', v), '%s u8 = %d' % (name, v))
    def u16(self, v, name): return self.raw(struct.pack('<H', v), '%s u16 = %d' % (name, v))
    def u32(self, v, name): return self.raw(struct.pack('<I', v), '%s u32 = %d' % (name, v))
    def u64(self, v, name): return self.raw(struct.pack('<Q', v), '%s u64 = %d' % (name, v))
    def i32(self, v, name): return self.raw(struct.pack('<i', v), '%s i32 = %d' % (name, v))
    def bool(self, v, name): return self.raw([1 if v else 0], '%s bool = %s' % (name, 'true' if v else 'false'))

    def str(self, s, name, raw=None):
        data = s.encode('utf-8') if raw is None else raw
        self.raw(struct.pack('<H', len(data)), '%s str length %d' % (name, len(data)))
        if data:
            self.raw(data, '%s = %s' % (name, json.dumps(s, ensure_ascii=True) if raw is None else '(raw bytes)'))
        return self

    def longstr(self, s, name):
        data = s.encode('utf-8')
        self.raw(struct.pack('<I', len(data)), '%s longstr length %d' % (name, len(data)))
        if data:
            self.raw(data, '%s = %s' % (name, json.dumps(s, ensure_ascii=True)))
        return self

    def bytes(self, b, name):
        self.raw(struct.pack('<I', len(b)), '%s bytes length %d' % (name, len(b)))
        if b:
            self.raw(b, '%s (%d bytes)' % (name, len(b)))
        return self

    def count(self, n, name): return self.raw(struct.pack('<I', n), '%s count %d' % (name, n))

    def data(self):
        return b''.join(p for p, _ in self.parts)

    def text(self, title):
        lines = ['# ' + title]
        for part, comment in self.parts:
            for k in range(0, max(len(part), 1), 32):
                chunk = part[k:k + 32]
                if not chunk:
                    continue
                hexs = ' '.join('%02x' % b for b in chunk)
                lines.append(hexs + ('  # ' + comment if k == 0 else ''))
        return '\n'.join(lines) + '\n'


def encode(type_name, f):
    """Encodes a valid message from its manifest field values (u64 values are decimal strings)."""
    fr = Frame().header(type_name)
    U = lambda key: int(f[key])
    if type_name == 'HELLO':
        fr.str(f['workerName'], 'workerName').str(f['hostname'], 'hostname')
        fr.str(f['softwareVersion'], 'softwareVersion').u16(f['cores'], 'cores')
        fr.u64(U('memoryBytes'), 'memoryBytes').u16(f['slots'], 'slots').u8(f['taskKinds'], 'taskKinds')
        fr.count(len(f['capabilities']), 'capabilities')
        for i, c in enumerate(f['capabilities']):
            fr.str(c, 'capabilities[%d]' % i)
    elif type_name == 'WELCOME':
        fr.u64(U('workerID'), 'workerID').u32(f['heartbeatIntervalMillis'], 'heartbeatIntervalMillis')
        fr.u16(f['livenessBeats'], 'livenessBeats').str(f['coordinatorVersion'], 'coordinatorVersion')
    elif type_name == 'REFUSE':
        fr.u16(f['code'], 'code').str(f['reason'], 'reason')
    elif type_name == 'CREDIT':
        fr.u16(f['credits'], 'credits')
    elif type_name == 'HEARTBEAT':
        pass
    elif type_name == 'TASK':
        fr.u64(U('taskID'), 'taskID').u32(f['attempt'], 'attempt').u8(f['kind'], 'kind')
        fr.u64(U('jobID'), 'jobID').u64(U('frameID'), 'frameID')
        fr.bytes(bytes.fromhex(f['parameters']), 'parameters')
        payloads(fr, f['payloads'])
    elif type_name == 'RESULT':
        fr.u64(U('taskID'), 'taskID').u32(f['attempt'], 'attempt').u64(U('computeMicros'), 'computeMicros')
        fr.bytes(bytes.fromhex(f['metadata']), 'metadata')
        payloads(fr, f['payloads'])
    elif type_name == 'FAILURE':
        fr.u64(U('taskID'), 'taskID').u32(f['attempt'], 'attempt').u16(f['code'], 'code')
        fr.bool(f['retryable'], 'retryable').str(f['reason'], 'reason')
    elif type_name == 'CANCEL':
        fr.count(len(f['taskIDs']), 'taskIDs')
        for i, t in enumerate(f['taskIDs']):
            fr.u64(int(t), 'taskIDs[%d]' % i)
    elif type_name == 'GOODBYE':
        fr.str(f['reason'], 'reason')
    elif type_name == 'SUBMIT':
        fr.u32(f['requestID'], 'requestID').str(f['jobName'], 'jobName')
        fr.str(f['captureDir'], 'captureDir').str(f['outputDir'], 'outputDir')
        fr.longstr(f['recipe'], 'recipe').u32(f['tileSize'], 'tileSize').u8(f['format'], 'format')
        fr.i32(f['priority'], 'priority').bool(f['overwrite'], 'overwrite')
        fr.bool(f['mergeBursts'], 'mergeBursts').u32(f['burstGapMillis'], 'burstGapMillis')
    elif type_name == 'SUBMITTED':
        fr.u32(f['requestID'], 'requestID').u64(U('jobID'), 'jobID').u32(f['frames'], 'frames')
    elif type_name == 'STATUS':
        fr.u32(f['requestID'], 'requestID').u64(U('jobID'), 'jobID')
    elif type_name == 'STATUS_REPLY':
        fr.u32(f['requestID'], 'requestID').u32(f['workersConnected'], 'workersConnected')
        fr.count(len(f['jobs']), 'jobs')
        for j, job in enumerate(f['jobs']):
            p = 'jobs[%d].' % j
            fr.u64(int(job['jobID']), p + 'jobID').str(job['name'], p + 'name').u8(job['state'], p + 'state')
            fr.u32(job['framesTotal'], p + 'framesTotal').u32(job['framesDone'], p + 'framesDone')
            fr.u32(job['framesFailed'], p + 'framesFailed')
            for k in ('tasksQueued', 'tasksRunning', 'tasksSucceeded', 'tasksFailed', 'tasksCancelled'):
                fr.u64(int(job[k]), p + k)
            fr.str(job['outputDir'], p + 'outputDir')
            fr.count(len(job['failures']), p + 'failures')
            for k, fail in enumerate(job['failures']):
                q = p + 'failures[%d].' % k
                fr.str(fail['framePath'], q + 'framePath').str(fail['reason'], q + 'reason')
                fr.u32(fail['attempts'], q + 'attempts')
    elif type_name == 'CONTROL_ERROR':
        fr.u32(f['requestID'], 'requestID').u16(f['code'], 'code').str(f['message'], 'message')
    elif type_name == 'DRAIN':
        fr.str(f['reason'], 'reason')
    elif type_name == 'JOBS':
        fr.u32(f['requestID'], 'requestID').u32(f['limit'], 'limit')
    elif type_name == 'JOBS_REPLY':
        fr.u32(f['requestID'], 'requestID').u64(U('nowMillis'), 'nowMillis')
        fr.u32(f['workersConnected'], 'workersConnected').u32(f['jobsTotal'], 'jobsTotal')
        fr.count(len(f['jobs']), 'jobs')
        for j, job in enumerate(f['jobs']):
            job_row(fr, job, 'jobs[%d].' % j)
        fr.count(len(f['stuck']), 'stuck')
        for j, t in enumerate(f['stuck']):
            p = 'stuck[%d].' % j
            fr.u64(int(t['taskID']), p + 'taskID').u64(int(t['jobID']), p + 'jobID').u64(int(t['workerID']), p + 'workerID')
            fr.u8(t['kind'], p + 'kind').u64(int(t['runningMillis']), p + 'runningMillis')
            fr.u64(int(t['expectedMillis']), p + 'expectedMillis')
    elif type_name == 'JOB':
        fr.u32(f['requestID'], 'requestID').u64(U('jobID'), 'jobID').u32(f['limit'], 'limit')
    elif type_name == 'JOB_REPLY':
        fr.u32(f['requestID'], 'requestID')
        job_row(fr, f['job'], 'job.')
        state_counts(fr, f['frameStates'], 'frameStates')
        state_counts(fr, f['taskStates'], 'taskStates')
        fr.count(len(f['failures']), 'failures')
        for i, x in enumerate(f['failures']):
            p = 'failures[%d].' % i
            fr.u64(int(x['frameID']), p + 'frameID').str(x['path'], p + 'path').str(x['code'], p + 'code')
            fr.str(x['reason'], p + 'reason').u32(x['attempts'], p + 'attempts')
        fr.count(len(f['outputs']), 'outputs')
        for i, x in enumerate(f['outputs']):
            p = 'outputs[%d].' % i
            fr.u64(int(x['frameID']), p + 'frameID').str(x['path'], p + 'path').u64(int(x['bytes']), p + 'bytes')
    elif type_name == 'WORKERS':
        fr.u32(f['requestID'], 'requestID').bool(f['includeGone'], 'includeGone').u32(f['limit'], 'limit')
    elif type_name == 'WORKERS_REPLY':
        fr.u32(f['requestID'], 'requestID').u64(U('nowMillis'), 'nowMillis').u32(f['workersTotal'], 'workersTotal')
        fr.count(len(f['workers']), 'workers')
        for i, w in enumerate(f['workers']):
            p = 'workers[%d].' % i
            fr.u64(int(w['workerID']), p + 'workerID').str(w['name'], p + 'name').str(w['host'], p + 'host')
            fr.u16(w['slots'], p + 'slots').u8(w['state'], p + 'state').u32(w['runningTasks'], p + 'runningTasks')
            for k in ('registeredAtMillis', 'lastSeenMillis', 'tasksSucceeded', 'tasksFailed', 'computeMicros'):
                fr.u64(int(w[k]), p + k)
    elif type_name == 'EVENTS':
        fr.u32(f['requestID'], 'requestID').u64(U('jobID'), 'jobID').u64(U('afterEventID'), 'afterEventID')
        fr.u32(f['limit'], 'limit')
    elif type_name == 'EVENTS_REPLY':
        fr.u32(f['requestID'], 'requestID').count(len(f['events']), 'events')
        for i, e in enumerate(f['events']):
            p = 'events[%d].' % i
            fr.u64(int(e['eventID']), p + 'eventID').u64(int(e['atMillis']), p + 'atMillis').u8(e['level'], p + 'level')
            fr.str(e['kind'], p + 'kind').str(e['message'], p + 'message')
            fr.u64(int(e['jobID']), p + 'jobID').u64(int(e['workerID']), p + 'workerID')
    elif type_name == 'STEER':
        fr.u32(f['requestID'], 'requestID').u8(f['action'], 'action').u64(U('targetID'), 'targetID')
        fr.i32(f['value'], 'value')
    elif type_name == 'STEERED':
        fr.u32(f['requestID'], 'requestID').u8(f['action'], 'action').u64(U('targetID'), 'targetID')
        fr.str(f['state'], 'state').bool(f['paused'], 'paused').i32(f['priority'], 'priority')
        fr.u64(U('tasksAffected'), 'tasksAffected').str(f['message'], 'message')
    else:
        raise ValueError(type_name)
    return fr


def payloads(fr, descs):
    fr.count(len(descs), 'payloads')
    for i, d in enumerate(descs):
        fr.u64(int(d['length']), 'payloads[%d].length' % i)
        fr.raw(struct.pack('<Q', int(d['checksum'])), 'payloads[%d].checksum u64 = 0x%016x' % (i, int(d['checksum'])))


def describe(data):
    return {'length': str(len(data)), 'checksum': str(xxh3_64(data))}


# ---------------------------------------------------------------- the vectors
INT64_MAX = (1 << 63) - 1
tile_params = b'{"tile":{"x":512,"y":0,"width":512,"height":512},"halo":8,"recipe":"standard"}'
payload_cfa = bytes((i * 7 + 3) & 0xFF for i in range(300))
payload_a = bytes(range(256))
payload_b = b''
result_meta = '{"blackLevel":512,"whiteLevel":16383}'.encode()

VALID = [
    ('hello', 'HELLO', 'a worker with two task kinds and two capabilities', {
        'workerName': 'render-07/1', 'hostname': 'render-07.lan', 'softwareVersion': 'tessera 0.1.0',
        'cores': 16, 'memoryBytes': str(64 << 30), 'slots': 4, 'taskKinds': 3,
        'capabilities': ['libraw-0.20.2', 'decode-dng']}),
    ('hello-minimal', 'HELLO', 'every string empty, every number zero, no kinds, no capabilities', {
        'workerName': '', 'hostname': '', 'softwareVersion': '', 'cores': 0, 'memoryBytes': '0', 'slots': 0,
        'taskKinds': 0, 'capabilities': []}),
    ('welcome', 'WELCOME', 'worker 42, 1 s heartbeats, 5 beats liveness', {
        'workerID': '42', 'heartbeatIntervalMillis': 1000, 'livenessBeats': 5, 'coordinatorVersion': 'tessera 0.1.0'}),
    ('refuse', 'REFUSE', 'refusal of a peer speaking another version (code 1 unsupportedVersion)', {
        'code': 1, 'reason': 'protocol version 4 is not supported; this coordinator speaks version 3'}),
    ('credit', 'CREDIT', 'four more tasks', {'credits': 4}),
    ('credit-max', 'CREDIT', 'the largest credit', {'credits': 65535}),
    ('heartbeat', 'HEARTBEAT', 'empty body', {}),
    ('task', 'TASK', 'develop one tile; one payload frame (the 300-byte payload given in payloadFrames)', {
        'taskID': '1001', 'attempt': 1, 'kind': 2, 'jobID': '7', 'frameID': '3',
        'parameters': tile_params.hex(), 'payloads': [describe(payload_cfa)]}),
    ('task-merge-tile', 'TASK', 'merge one burst tile (kind 3, v2); no payloads', {
        'taskID': '2001', 'attempt': 1, 'kind': 3, 'jobID': '7', 'frameID': '4',
        'parameters': b'{"core":{"height":2048,"width":2048,"x":0,"y":0}}'.hex(), 'payloads': []}),
    ('task-extremes', 'TASK', 'decode with largest ids and attempt, empty parameters, no payloads', {
        'taskID': str(INT64_MAX), 'attempt': 0xFFFFFFFF, 'kind': 1, 'jobID': str(INT64_MAX), 'frameID': '0',
        'parameters': '', 'payloads': []}),
    ('result', 'RESULT', 'two payload frames (256 bytes 00..ff, and an empty frame)', {
        'taskID': '1001', 'attempt': 2, 'computeMicros': '123456789', 'metadata': result_meta.hex(),
        'payloads': [describe(payload_a), describe(payload_b)]}),
    ('failure', 'FAILURE', 'non-retryable decode failure with a non-ASCII reason', {
        'taskID': '1001', 'attempt': 3, 'code': 1, 'retryable': False,
        'reason': 'LibRaw: ungültige Datei “IMG_0001.CR2” — data corrupted'}),
    ('failure-retryable', 'FAILURE', 'retryable out-of-memory', {
        'taskID': '5', 'attempt': 1, 'code': 6, 'retryable': True, 'reason': 'out of memory (8 GiB)'}),
    ('failure-input-not-cached', 'FAILURE', 'a cache miss: a referenced plane is no longer held (v3)', {
        'taskID': '77', 'attempt': 1, 'code': 8, 'retryable': True,
        'reason': 'input 0 references a 16000000 B plane xxh3=0123456789abcdef this worker no longer holds'}),
    ('cancel', 'CANCEL', 'three task ids', {'taskIDs': ['1001', '1002', str(INT64_MAX)]}),
    ('cancel-empty', 'CANCEL', 'no task ids', {'taskIDs': []}),
    ('goodbye', 'GOODBYE', 'draining on SIGTERM', {'reason': 'SIGTERM: draining'}),
    ('submit', 'SUBMIT', 'a JPEG job, negative priority, overwrite on', {
        'requestID': 1, 'jobName': 'wedding-2026', 'captureDir': '/data/captures/wedding',
        'outputDir': '/data/out/wedding', 'recipe': 'standard', 'tileSize': 512, 'format': 1, 'priority': -5,
        'overwrite': True, 'mergeBursts': False, 'burstGapMillis': 1500}),
    ('submit-document', 'SUBMIT', 'a TIFF job with an inline recipe document and a non-ASCII name', {
        'requestID': 4294967295, 'jobName': 'Hochzeit Müller 📷', 'captureDir': '/srv/raw/2026-11-24',
        'outputDir': '/srv/out/2026-11-24', 'recipe': '{"base":"standard","exposure":0.5,"whiteBalance":"camera"}',
        'tileSize': 256, 'format': 2, 'priority': 2147483647, 'overwrite': False, 'mergeBursts': False,
        'burstGapMillis': 0}),
    ('submit-bursts', 'SUBMIT', 'a JPEG job merging bursts of frames at most 2.5 s apart (v2 fields)', {
        'requestID': 12, 'jobName': 'bursts', 'captureDir': '/data/captures/street', 'outputDir': '/data/out/street',
        'recipe': 'punchy', 'tileSize': 2048, 'format': 1, 'priority': 0, 'overwrite': False, 'mergeBursts': True,
        'burstGapMillis': 2500}),
    ('submitted', 'SUBMITTED', 'job 7 with 120 frames', {'requestID': 1, 'jobID': '7', 'frames': 120}),
    ('status', 'STATUS', 'one job', {'requestID': 2, 'jobID': '7'}),
    ('status-all', 'STATUS', 'all jobs (jobID 0)', {'requestID': 3, 'jobID': '0'}),
    ('status-reply', 'STATUS_REPLY', 'two jobs, the first with two frame failures', {
        'requestID': 2, 'workersConnected': 3, 'jobs': [
            {'jobID': '7', 'name': 'wedding-2026', 'state': 4, 'framesTotal': 120, 'framesDone': 118,
             'framesFailed': 2, 'tasksQueued': '0', 'tasksRunning': '0', 'tasksSucceeded': '1416',
             'tasksFailed': '2', 'tasksCancelled': '0', 'outputDir': '/data/out/wedding', 'failures': [
                 {'framePath': '/data/captures/wedding/IMG_0001.CR2', 'reason': 'decodeFailed: data corrupted',
                  'attempts': 1},
                 {'framePath': '/data/captures/日本/DSC_0002.NEF', 'reason': 'unsupportedInput: lossy NEF',
                  'attempts': 3}]},
            {'jobID': '8', 'name': 'studio', 'state': 2, 'framesTotal': 10, 'framesDone': 4, 'framesFailed': 0,
             'tasksQueued': '60', 'tasksRunning': '8', 'tasksSucceeded': '52', 'tasksFailed': '0',
             'tasksCancelled': '0', 'outputDir': '/data/out/studio', 'failures': []}]}),
    ('status-reply-empty', 'STATUS_REPLY', 'no jobs', {'requestID': 9, 'workersConnected': 0, 'jobs': []}),
    ('control-error', 'CONTROL_ERROR', 'unknown job (code 8)', {
        'requestID': 2, 'code': 8, 'message': 'no job with id 99'}),
    ('drain', 'DRAIN', 'an operator drains a worker', {'reason': 'operator: tessera drain 12'}),
    ('jobs', 'JOBS', 'the job table, at most 50 rows', {'requestID': 10, 'limit': 50}),
    ('jobs-reply', 'JOBS_REPLY', 'one running paused job with a stuck tile, one finished job', {
        'requestID': 10, 'nowMillis': '1764000000000', 'workersConnected': 2, 'jobsTotal': 2, 'jobs': [
            {'jobID': '8', 'name': 'studio', 'state': 2, 'paused': True, 'priority': 5, 'framesTotal': 10,
             'framesDone': 4, 'framesFailed': 0, 'tasksQueued': '60', 'tasksRunning': '8', 'tasksSucceeded': '52',
             'tasksFailed': '0', 'tasksCancelled': '0', 'pixelsDone': '96000000', 'createdAtMillis': '1763999000000',
             'startedAtMillis': '1763999001000', 'finishedAtMillis': '0'},
            {'jobID': '7', 'name': 'Hochzeit Müller', 'state': 4, 'paused': False, 'priority': -3,
             'framesTotal': 120, 'framesDone': 118, 'framesFailed': 2, 'tasksQueued': '0', 'tasksRunning': '0',
             'tasksSucceeded': '1416', 'tasksFailed': '2', 'tasksCancelled': '0', 'pixelsDone': '2832000000',
             'createdAtMillis': '1763990000000', 'startedAtMillis': '1763990000500',
             'finishedAtMillis': '1763995000000'}],
        'stuck': [{'taskID': '4242', 'jobID': '8', 'workerID': '3', 'kind': 2, 'runningMillis': '95000',
                   'expectedMillis': '1200'}]}),
    ('jobs-reply-empty', 'JOBS_REPLY', 'no jobs, no workers', {
        'requestID': 11, 'nowMillis': '0', 'workersConnected': 0, 'jobsTotal': 0, 'jobs': [], 'stuck': []}),
    ('job', 'JOB', 'job 7 in detail, default limit', {'requestID': 12, 'jobID': '7', 'limit': 0}),
    ('job-reply', 'JOB_REPLY', 'a job with frames and tasks by state, one failure and one output', {
        'requestID': 12,
        'job': {'jobID': '7', 'name': 'night', 'state': 2, 'paused': False, 'priority': 0, 'framesTotal': 3,
                'framesDone': 1, 'framesFailed': 1, 'tasksQueued': '4', 'tasksRunning': '2', 'tasksSucceeded': '7',
                'tasksFailed': '1', 'tasksCancelled': '0', 'pixelsDone': '24000000', 'createdAtMillis': '1000',
                'startedAtMillis': '1500', 'finishedAtMillis': '0'},
        'frameStates': [{'name': 'developing', 'count': '1'}, {'name': 'done', 'count': '1'},
                        {'name': 'failed', 'count': '1'}],
        'taskStates': [{'name': 'decode.succeeded', 'count': '2'}, {'name': 'developTile.queued', 'count': '4'}],
        'failures': [{'frameID': '22', 'path': '/shoots/night/IMG_0002.CR2', 'code': 'decodeFailed',
                      'reason': 'data corrupted', 'attempts': 1}],
        'outputs': [{'frameID': '21', 'path': '/renders/night/IMG_0001.jpg', 'bytes': '5123456'}]}),
    ('workers', 'WORKERS', 'connected workers only, default limit', {
        'requestID': 13, 'includeGone': False, 'limit': 0}),
    ('workers-reply', 'WORKERS_REPLY', 'a connected and a draining worker', {
        'requestID': 13, 'nowMillis': '1764000000000', 'workersTotal': 2, 'workers': [
            {'workerID': '3', 'name': 'render-07/1', 'host': 'render-07.lan', 'slots': 4, 'state': 1,
             'runningTasks': 4, 'registeredAtMillis': '1763990000000', 'lastSeenMillis': '1763999999500',
             'tasksSucceeded': '812', 'tasksFailed': '1', 'computeMicros': '3600000000'},
            {'workerID': '4', 'name': 'render-08/1', 'host': 'render-08.lan', 'slots': 2, 'state': 2,
             'runningTasks': 1, 'registeredAtMillis': '1763990000000', 'lastSeenMillis': '1763999999000',
             'tasksSucceeded': '400', 'tasksFailed': '0', 'computeMicros': '1800000000'}]}),
    ('events', 'EVENTS', 'events of job 7 after event 100', {
        'requestID': 14, 'jobID': '7', 'afterEventID': '100', 'limit': 500}),
    ('events-reply', 'EVENTS_REPLY', 'a job event and a worker event (no job: 0)', {
        'requestID': 14, 'events': [
            {'eventID': '101', 'atMillis': '1764000000000', 'level': 2, 'kind': 'job.paused',
             'message': 'job 7 paused by an operator', 'jobID': '7', 'workerID': '0'},
            {'eventID': '102', 'atMillis': '1764000000100', 'level': 3, 'kind': 'worker.lost',
             'message': 'render-08/1 lost (missed 5 heartbeats); 2 task(s) requeued', 'jobID': '0', 'workerID': '4'}]}),
    ('steer', 'STEER', 'set the priority of job 7 to 10', {
        'requestID': 15, 'action': 6, 'targetID': '7', 'value': 10}),
    ('steered', 'STEERED', 'job 7 cancelled, 3 running tasks cancelled on their workers', {
        'requestID': 16, 'action': 1, 'targetID': '7', 'state': 'cancelled', 'paused': False, 'priority': 0,
        'tasksAffected': '3', 'message': 'job 7 cancelled: 12 queued and 3 running task(s) cancelled'}),
]

PAYLOAD_FRAMES = {'task': [payload_cfa], 'result': [payload_a, payload_b]}


def err(case, **kw):
    d = {'case': case}
    d.update(kw)
    return d


def invalid():
    """(name, description, Frame, expected error) for every rejection rule."""
    out = []
    F = Frame

    def hello_prefix(name='w'):
        return F().header('HELLO')

    out.append(('empty', 'zero-length header frame', F(), err('truncated', field='header.signature')))
    out.append(('one-byte', 'only the first signature byte', F().raw(b'T', 'signature, first byte'),
                err('truncated', field='header.signature')))
    out.append(('bad-signature', 'signature "TX"', F().header('HEARTBEAT', signature=b'TX'),
                err('badSignature', found=0x5458)))
    out.append(('bad-signature-zmtp', 'a ZMTP-like greeting, not a Tessera header',
                F().raw(b'\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f', 'ZMTP signature'),
                err('badSignature', found=0xFF00)))
    out.append(('version-1', 'version 1 (an earlier protocol) with an otherwise valid HEARTBEAT',
                F().header('HEARTBEAT', version=1), err('unsupportedVersion', version=1)))
    out.append(('version-2', 'version 2 (the previous protocol) with an otherwise valid HEARTBEAT',
                F().header('HEARTBEAT', version=2), err('unsupportedVersion', version=2)))
    out.append(('version-4', 'version 4 with an otherwise valid HEARTBEAT', F().header('HEARTBEAT', version=4),
                err('unsupportedVersion', version=4)))
    out.append(('version-0', 'version 0', F().header('HEARTBEAT', version=0), err('unsupportedVersion', version=0)))
    out.append(('version-only', 'version 9 and nothing after: the version is reported before the type is needed',
                F().raw(b'TS', 'signature').raw([9], 'version 9'), err('unsupportedVersion', version=9)))
    out.append(('no-type', 'signature and version, no type byte', F().raw(b'TS', 'signature').raw([VERSION], 'version %d' % VERSION),
                err('truncated', field='header.type')))
    out.append(('type-0', 'type 0 is reserved', F().header(0x00), err('unknownMessageType', type=0)))
    out.append(('type-0c', 'type 0x0c is not defined (0x0b is DRAIN)', F().header(0x0C), err('unknownMessageType', type=0x0C)))
    out.append(('type-2f', 'type 0x2f is not defined', F().header(0x2F), err('unknownMessageType', type=0x2F)))
    out.append(('type-ff', 'type 0xff', F().header(0xFF), err('unknownMessageType', type=0xFF)))

    # trailing bytes
    out.append(('heartbeat-trailing', 'HEARTBEAT with one extra byte',
                F().header('HEARTBEAT').raw([0], 'extra byte'), err('trailingBytes', count=1)))
    out.append(('credit-trailing', 'CREDIT with three extra bytes',
                F().header('CREDIT').u16(1, 'credits').raw(b'\x00\x00\x00', 'extra bytes'),
                err('trailingBytes', count=3)))

    # truncation inside bodies
    out.append(('credit-truncated', 'CREDIT with one byte of its u16', F().header('CREDIT').raw([4], 'credits, half'),
                err('truncated', field='CREDIT.credits')))
    full = encode(*[(v[1], v[3]) for v in VALID if v[0] == 'task'][0]).data()
    cut = F().raw(full[:4 + 8 + 4 + 1 + 8 + 8 + 4 + 10], 'TASK cut 10 bytes into parameters')
    out.append(('task-truncated-parameters', 'TASK whose parameters end early', cut,
                err('truncated', field='TASK.parameters')))
    out.append(('string-truncated', 'HELLO.workerName declares 10 bytes, has 3',
                F().header('HELLO').u16(10, 'workerName length').raw(b'abc', 'only 3 bytes'),
                err('truncated', field='HELLO.workerName')))
    out.append(('cancel-count-exceeds-data', 'CANCEL declares 65536 ids (within limit) but carries none',
                F().header('CANCEL').count(65536, 'taskIDs'), err('truncated', field='CANCEL.taskIDs')))
    out.append(('status-reply-jobs-exceed-data', 'STATUS_REPLY declares 10000 jobs, carries none',
                F().header('STATUS_REPLY').u32(1, 'requestID').u32(0, 'workersConnected').count(10000, 'jobs'),
                err('truncated', field='STATUS_REPLY.jobs')))

    # string limits
    long_name = 'a' * 4097
    out.append(('string-too-long', 'HELLO.workerName of 4097 bytes (limit 4096)',
                F().header('HELLO').str(long_name, 'workerName'),
                err('stringTooLong', field='HELLO.workerName', length=4097, max=4096)))
    out.append(('string-too-long-claimed', 'GOODBYE.reason claims 65535 bytes, carries none: limit checked first',
                F().header('GOODBYE').u16(65535, 'reason length'),
                err('stringTooLong', field='GOODBYE.reason', length=65535, max=4096)))
    h = F().header('HELLO').str('w', 'workerName').str('h', 'hostname').str('v', 'softwareVersion')
    h.u16(1, 'cores').u64(1, 'memoryBytes').u16(1, 'slots').u8(1, 'taskKinds').count(1, 'capabilities')
    h.str('x' * 65, 'capabilities[0]')
    out.append(('capability-too-long', 'a 65-byte capability (limit 64)', h,
                err('stringTooLong', field='HELLO.capabilities[0]', length=65, max=64)))
    s = F().header('SUBMIT').u32(1, 'requestID').str('j', 'jobName').str('/c', 'captureDir').str('/o', 'outputDir')
    s.u32((16 << 20) + 1, 'recipe longstr length (no data)')
    out.append(('recipe-too-long', 'SUBMIT.recipe claims 16777217 bytes (limit 16777216)', s,
                err('stringTooLong', field='SUBMIT.recipe', length=(16 << 20) + 1, max=16 << 20)))

    # UTF-8
    for name, raw, what in [('invalid-utf8', b'\xc3\x28', 'an invalid continuation byte'),
                            ('invalid-utf8-overlong', b'\xc0\xaf', 'an overlong "/"'),
                            ('invalid-utf8-surrogate', b'\xed\xa0\x80', 'an encoded UTF-16 surrogate'),
                            ('invalid-utf8-truncated-sequence', b'ok\xe2\x82', 'a multi-byte sequence cut short')]:
        out.append((name, 'HELLO.hostname with %s' % what,
                    F().header('HELLO').str('w', 'workerName').str('', 'hostname', raw=raw),
                    err('invalidUTF8', field='HELLO.hostname')))

    # bools
    sb = F().header('SUBMIT').u32(1, 'requestID').str('j', 'jobName').str('/c', 'captureDir').str('/o', 'outputDir')
    sb.longstr('standard', 'recipe').u32(512, 'tileSize').u8(1, 'format').i32(0, 'priority').u8(2, 'overwrite (2)')
    out.append(('bad-bool', 'SUBMIT.overwrite = 2', sb, err('invalidBool', field='SUBMIT.overwrite', value=2)))
    fb = F().header('FAILURE').u64(1, 'taskID').u32(1, 'attempt').u16(4, 'code').u8(0xFF, 'retryable (0xff)')
    fb.str('x', 'reason')
    out.append(('bad-bool-ff', 'FAILURE.retryable = 0xff', fb, err('invalidBool', field='FAILURE.retryable', value=255)))

    # lists
    h = F().header('HELLO').str('w', 'workerName').str('h', 'hostname').str('v', 'softwareVersion')
    h.u16(1, 'cores').u64(1, 'memoryBytes').u16(1, 'slots').u8(3, 'taskKinds').count(65, 'capabilities')
    for i in range(65):
        h.str('c%d' % i, 'capabilities[%d]' % i)
    out.append(('capabilities-over-limit', '65 capabilities (limit 64)', h,
                err('listTooLong', field='HELLO.capabilities', count=65, max=64)))
    out.append(('cancel-over-limit', 'CANCEL declares 65537 ids (limit 65536), carries none',
                F().header('CANCEL').count(65537, 'taskIDs'),
                err('listTooLong', field='CANCEL.taskIDs', count=65537, max=65536)))
    out.append(('cancel-count-huge', 'CANCEL declares 4294967295 ids: rejected without allocating',
                F().header('CANCEL').count(0xFFFFFFFF, 'taskIDs'),
                err('listTooLong', field='CANCEL.taskIDs', count=0xFFFFFFFF, max=65536)))
    t = F().header('TASK').u64(1, 'taskID').u32(1, 'attempt').u8(2, 'kind').u64(1, 'jobID').u64(1, 'frameID')
    t.bytes(b'', 'parameters').count(17, 'payloads')
    for i in range(17):
        t.u64(0, 'payloads[%d].length' % i).u64(xxh3_64(b''), 'payloads[%d].checksum' % i)
    out.append(('payloads-over-limit', 'TASK with 17 payload descriptors (limit 16)', t,
                err('listTooLong', field='TASK.payloads', count=17, max=16)))
    sr = F().header('STATUS_REPLY').u32(1, 'requestID').u32(0, 'workersConnected').count(10001, 'jobs')
    out.append(('status-jobs-over-limit', 'STATUS_REPLY declares 10001 jobs (limit 10000)', sr,
                err('listTooLong', field='STATUS_REPLY.jobs', count=10001, max=10000)))
    sr = F().header('STATUS_REPLY').u32(1, 'requestID').u32(0, 'workersConnected').count(1, 'jobs')
    sr.u64(7, 'jobs[0].jobID').str('j', 'jobs[0].name').u8(4, 'jobs[0].state')
    for k in ('framesTotal', 'framesDone', 'framesFailed'):
        sr.u32(1, 'jobs[0].' + k)
    for k in ('tasksQueued', 'tasksRunning', 'tasksSucceeded', 'tasksFailed', 'tasksCancelled'):
        sr.u64(0, 'jobs[0].' + k)
    sr.str('/o', 'jobs[0].outputDir').count(100001, 'jobs[0].failures')
    out.append(('status-failures-over-limit', 'a job with 100001 failures declared (limit 100000)', sr,
                err('listTooLong', field='STATUS_REPLY.jobs[0].failures', count=100001, max=100000)))

    # bytes limits
    t = F().header('TASK').u64(1, 'taskID').u32(1, 'attempt').u8(2, 'kind').u64(1, 'jobID').u64(1, 'frameID')
    t.u32((16 << 20) + 1, 'parameters length (no data)')
    out.append(('parameters-too-long', 'TASK.parameters claims 16 MiB + 1 (limit 16 MiB)', t,
                err('bytesTooLong', field='TASK.parameters', length=(16 << 20) + 1, max=16 << 20)))
    r = F().header('RESULT').u64(1, 'taskID').u32(1, 'attempt').u64(5, 'computeMicros').u32(0xFFFFFFFF, 'metadata length')
    out.append(('metadata-too-long', 'RESULT.metadata claims 4 GiB - 1', r,
                err('bytesTooLong', field='RESULT.metadata', length=0xFFFFFFFF, max=1 << 20)))
    t = F().header('TASK').u64(1, 'taskID').u32(1, 'attempt').u8(2, 'kind').u64(1, 'jobID').u64(1, 'frameID')
    t.bytes(b'', 'parameters').count(2, 'payloads').u64(10, 'payloads[0].length').u64(1, 'payloads[0].checksum')
    t.u64((1 << 30) + 1, 'payloads[1].length').u64(1, 'payloads[1].checksum')
    out.append(('payload-too-large', 'a payload descriptor of 1 GiB + 1 (limit 1 GiB)', t,
                err('payloadTooLarge', field='TASK.payloads[1].length', length=str((1 << 30) + 1), max=str(1 << 30))))

    # enums and ranges
    def task_kind(k):
        return F().header('TASK').u64(1, 'taskID').u32(1, 'attempt').u8(k, 'kind')
    out.append(('task-kind-0', 'TASK.kind 0', task_kind(0), err('invalidEnumValue', field='TASK.kind', value='0')))
    out.append(('task-kind-4', 'TASK.kind 4 (undefined in v2)', task_kind(4),
                err('invalidEnumValue', field='TASK.kind', value='4')))
    h = F().header('HELLO').str('w', 'workerName').str('h', 'hostname').str('v', 'softwareVersion')
    h.u16(1, 'cores').u64(1, 'memoryBytes').u16(1, 'slots').u8(0x09, 'taskKinds (bit 3 undefined)').count(0, 'capabilities')
    out.append(('task-kinds-undefined-bit', 'HELLO.taskKinds with bit 3 set', h,
                err('invalidEnumValue', field='HELLO.taskKinds', value='9')))
    out.append(('refuse-code-0', 'REFUSE.code 0', F().header('REFUSE').u16(0, 'code').str('x', 'reason'),
                err('invalidEnumValue', field='REFUSE.code', value='0')))
    out.append(('control-error-code-999', 'CONTROL_ERROR.code 999',
                F().header('CONTROL_ERROR').u32(1, 'requestID').u16(999, 'code').str('x', 'message'),
                err('invalidEnumValue', field='CONTROL_ERROR.code', value='999')))
    out.append(('failure-code-9', 'FAILURE.code 9 (undefined)',
                F().header('FAILURE').u64(1, 'taskID').u32(1, 'attempt').u16(9, 'code').bool(False, 'retryable').str('', 'reason'),
                err('invalidEnumValue', field='FAILURE.code', value='9')))
    s = F().header('SUBMIT').u32(1, 'requestID').str('j', 'jobName').str('/c', 'captureDir').str('/o', 'outputDir')
    s.longstr('standard', 'recipe').u32(512, 'tileSize').u8(4, 'format (4)').i32(0, 'priority').bool(False, 'overwrite')
    out.append(('submit-format-4', 'SUBMIT.format 4', s, err('invalidEnumValue', field='SUBMIT.format', value='4')))
    sr = F().header('STATUS_REPLY').u32(1, 'requestID').u32(0, 'workersConnected').count(1, 'jobs')
    sr.u64(7, 'jobs[0].jobID').str('j', 'jobs[0].name').u8(7, 'jobs[0].state (7)')
    for k in ('framesTotal', 'framesDone', 'framesFailed'):
        sr.u32(1, 'jobs[0].' + k)
    for k in ('tasksQueued', 'tasksRunning', 'tasksSucceeded', 'tasksFailed', 'tasksCancelled'):
        sr.u64(0, 'jobs[0].' + k)
    sr.str('/o', 'jobs[0].outputDir').count(0, 'jobs[0].failures')
    out.append(('job-state-7', 'STATUS_REPLY.jobs[0].state 7', sr,
                err('invalidEnumValue', field='STATUS_REPLY.jobs[0].state', value='7')))
    out.append(('credit-zero', 'CREDIT of 0', F().header('CREDIT').u16(0, 'credits'),
                err('valueOutOfRange', field='CREDIT.credits', value='0', allowed='1...65535')))
    out.append(('task-id-negative', 'TASK.taskID 2^63 (over Int64.max)',
                F().header('TASK').u64(1 << 63, 'taskID'),
                err('valueOutOfRange', field='TASK.taskID', value=str(1 << 63), allowed='0...9223372036854775807')))
    c = F().header('CANCEL').count(2, 'taskIDs').u64(5, 'taskIDs[0]').u64(M64, 'taskIDs[1]')
    out.append(('cancel-id-out-of-range', 'CANCEL.taskIDs[1] = 2^64-1', c,
                err('valueOutOfRange', field='CANCEL.taskIDs[1]', value=str(M64), allowed='0...9223372036854775807')))
    st = F().header('STEER').u32(1, 'requestID').u8(8, 'action (8)').u64(7, 'targetID').i32(0, 'value')
    out.append(('steer-action-8', 'STEER.action 8 (undefined)', st,
                err('invalidEnumValue', field='STEER.action', value='8')))
    wr = F().header('WORKERS_REPLY').u32(1, 'requestID').u64(0, 'nowMillis').u32(1, 'workersTotal').count(1, 'workers')
    wr.u64(3, 'workers[0].workerID').str('w', 'workers[0].name').str('h', 'workers[0].host').u16(1, 'workers[0].slots')
    wr.u8(5, 'workers[0].state (5)').u32(0, 'workers[0].runningTasks')
    for k in ('registeredAtMillis', 'lastSeenMillis', 'tasksSucceeded', 'tasksFailed', 'computeMicros'):
        wr.u64(0, 'workers[0].' + k)
    out.append(('worker-state-5', 'WORKERS_REPLY.workers[0].state 5 (undefined)', wr,
                err('invalidEnumValue', field='WORKERS_REPLY.workers[0].state', value='5')))
    er = F().header('EVENTS_REPLY').u32(1, 'requestID').count(10001, 'events')
    out.append(('events-over-limit', 'EVENTS_REPLY declares 10001 events (limit 10000)', er,
                err('listTooLong', field='EVENTS_REPLY.events', count=10001, max=10000)))
    jr = F().header('JOBS_REPLY').u32(1, 'requestID').u64(0, 'nowMillis').u32(0, 'workersConnected')
    jr.u32(0, 'jobsTotal').count(1, 'jobs').u64(1, 'jobs[0].jobID').str('j', 'jobs[0].name').u8(2, 'jobs[0].state')
    jr.raw([2], 'jobs[0].paused bool = 2 (invalid)').i32(0, 'jobs[0].priority')
    for k in ('framesTotal', 'framesDone', 'framesFailed'):
        jr.u32(0, 'jobs[0].' + k)
    for k in JOB_ROW_U64:
        jr.u64(0, 'jobs[0].' + k)
    jr.count(0, 'stuck')
    out.append(('jobs-reply-bad-paused', 'JOBS_REPLY.jobs[0].paused = 2', jr,
                err('invalidBool', field='JOBS_REPLY.jobs[0].paused', value=2)))
    return out


def main():
    manifest = {
        'protocol': 'Tessera wire protocol', 'version': VERSION, 'spec': '../PROTOCOL.md',
        'format': 'hex files: whitespace-separated hex byte pairs; "#" starts a comment to end of line',
        'conventions': ('fields use the names of PROTOCOL.md; u8/u16/u32/i32 are JSON numbers, u64 values are '
                        'decimal strings, bytes are lower-case hex strings, enums and the taskKinds bitset are '
                        'their numeric wire values; STATUS.jobID "0" means all jobs. Error attributes: field, '
                        'allowed are strings; count, length, max, found, type, version are numbers, except '
                        'value (invalidEnumValue, valueOutOfRange) and length/max of payloadTooLarge which are '
                        'decimal strings. Invalid vectors are decoded with the default limits.'),
        'limits': {'maxHeaderLength': 64 << 20, 'maxStringLength': 4096, 'maxCapabilityLength': 64,
                   'maxCapabilities': 64, 'maxRecipeLength': 16 << 20, 'maxParametersLength': 16 << 20,
                   'maxMetadataLength': 1 << 20, 'maxPayloads': 16, 'maxPayloadLength': str(1 << 30),
                   'maxCancelTaskIDs': 65536, 'maxStatusJobs': 10000, 'maxJobFailures': 100000,
                   'maxWorkerRows': 10000, 'maxEvents': 10000, 'maxStateCounts': 256},
        'valid': [], 'invalid': []}
    for d in ('valid', 'invalid'):
        for name in os.listdir(os.path.join(HERE, d)):
            if name.endswith('.hex'):
                os.remove(os.path.join(HERE, d, name))
    for name, type_name, desc, fields in VALID:
        fr = encode(type_name, fields)
        path = 'valid/%s.hex' % name
        with open(os.path.join(HERE, path), 'w') as fh:
            fh.write(fr.text('%s: %s' % (type_name, desc)))
        entry = {'file': path, 'type': type_name, 'description': desc, 'length': len(fr.data()), 'fields': fields}
        if name in PAYLOAD_FRAMES:
            entry['payloadFrames'] = [p.hex() for p in PAYLOAD_FRAMES[name]]
        manifest['valid'].append(entry)
    for name, desc, fr, error in invalid():
        path = 'invalid/%s.hex' % name
        with open(os.path.join(HERE, path), 'w') as fh:
            fh.write(fr.text('invalid: %s; expect %s' % (desc, json.dumps(error, ensure_ascii=False))))
        manifest['invalid'].append({'file': path, 'description': desc, 'length': len(fr.data()), 'error': error})
    with open(os.path.join(HERE, 'manifest.json'), 'w') as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False)
        fh.write('\n')
    print('%d valid, %d invalid vectors' % (len(manifest['valid']), len(manifest['invalid'])))


if __name__ == '__main__':
    main()
