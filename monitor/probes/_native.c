/* The ICMP engine's two per-echo loops in C (monitor/probes/icmp.py, icmp_native.py).
 *
 * Theory of operation. The engine keeps every echo in flight as a Python ``Probe`` in a list
 * of 65,536 slots indexed by the echo's 16-bit wire sequence (icmp.py). These two functions
 * do, for real sockets, exactly what the engine's Python loops do, minus the interpreter:
 *
 *   send(queue, n, fd4, fd6, wall) takes up to n probes off the head of the deque ``queue``
 *     and sends each (p.packet to p.sockaddr), its p.sent read from CLOCK_MONOTONIC right
 *     before sendto(2). Returns (probes sent, in order; None or the OSError of the first
 *     refusal). A refused probe stays at the head of the queue, its p.sent set, for the
 *     engine to retry or fail: error handling stays in Python.
 *
 *   drain(fd, slots, strip_ip, skip, kind) reads every queued packet with recvmmsg(2),
 *     64 at a time, until the socket is empty. A packet that is exactly the reply its slot's
 *     probe expects (bytes from ``skip`` on equal to p.expect; type ``kind`` and code 0 when
 *     skip > 0; the source address equal to p.addr) and within its batch's timeout is
 *     recorded as the Python fast path records it: slot emptied, RTT stored, batch count
 *     lowered. Everything else goes back to Python as (packet, source, rx, kernel) for the
 *     slow path (icmp.py ``_on_packet``): ICMP errors, strangers, late replies.
 *     Returns (received, kernel-stamped, batches whose last echo just ended, others).
 *
 * Times are CLOCK_MONOTONIC nanoseconds (Python's time.monotonic_ns). A reply's receive time
 * is the kernel's SO_TIMESTAMPNS stamp (CLOCK_REALTIME) moved onto CLOCK_MONOTONIC by the
 * offset between the two clocks read once per call, else CLOCK_MONOTONIC when read.
 *
 * Safety: packets are untrusted. Every read of a packet is bounded by its received length;
 * a packet is read into a fixed 256-byte buffer (longer ones are truncated, as the Python
 * path's recvmsg(256) does). The GIL is held throughout (every call is non-blocking), so the
 * static buffers are never used by two calls at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define VLEN 64
#define RECV_BYTES 256
#define WIRE 65536
#define STAMP_NEW 64 /* SO_TIMESTAMPNS_NEW: two int64 */
#define STAMP_OLD 35 /* SO_TIMESTAMPNS_OLD: struct timespec */

static unsigned char bufs[VLEN][RECV_BYTES];
static union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(16) * 2];
} controls[VLEN];
static struct sockaddr_storage names[VLEN];
static struct iovec iovs[VLEN];
static struct mmsghdr msgs[VLEN];

static PyObject *s_timeout, *s_rtts, *s_left, *s_popleft, *s_append, *s_appendleft, *s_at,
    *s_ats;

static long long clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The kernel's receive stamp of a message in ns since the epoch, or -1 if it has none. */
static long long stamp_of(struct msghdr *h) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == STAMP_NEW && c->cmsg_len >= CMSG_LEN(16)) {
            long long v[2];
            memcpy(v, CMSG_DATA(c), sizeof v);
            return v[0] * 1000000000LL + v[1];
        }
        if (c->cmsg_type == STAMP_OLD && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        }
        return -1; /* as the Python path: only the first message is looked at */
    }
    return -1;
}

/* The source address as text (inet_ntop's form, as Python's recvmsg gives it); 0 if the
 * address is of neither family. */
static int source_text(struct sockaddr_storage *sa, char *out, size_t size) {
    if (sa->ss_family == AF_INET)
        return inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, out, size) != NULL;
    if (sa->ss_family == AF_INET6)
        return inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, out, size) != NULL;
    return 0;
}

/* -- Probe: one echo in flight (icmp_flight.Probe's twin, with the same attributes) ------- */
typedef struct {
    PyObject_HEAD
    PyObject *addr, *dest, *sockaddr, *fam, *packet, *expect, *batch;
    long wire;
    Py_ssize_t index;
    long long sent;
} Probe;

static int Probe_traverse(Probe *self, visitproc visit, void *arg) {
    Py_VISIT(self->fam);
    Py_VISIT(self->batch);
    return 0;
}

static int Probe_clear(Probe *self) {
    Py_CLEAR(self->addr);
    Py_CLEAR(self->dest);
    Py_CLEAR(self->sockaddr);
    Py_CLEAR(self->fam);
    Py_CLEAR(self->packet);
    Py_CLEAR(self->expect);
    Py_CLEAR(self->batch);
    return 0;
}

static void Probe_dealloc(Probe *self) {
    PyObject_GC_UnTrack(self);
    Probe_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#define OBJ(name) {#name, T_OBJECT_EX, offsetof(Probe, name), READONLY, NULL}
static PyMemberDef Probe_members[] = {
    OBJ(addr), OBJ(dest), OBJ(sockaddr), OBJ(fam), OBJ(packet), OBJ(expect), OBJ(batch),
    {"wire", T_LONG, offsetof(Probe, wire), READONLY, NULL},
    {"index", T_PYSSIZET, offsetof(Probe, index), READONLY, NULL},
    {"sent", T_LONGLONG, offsetof(Probe, sent), 0, "loop clock (ns) right before the sendto"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject ProbeType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "monitor.probes._native.Probe",
    .tp_doc = "One echo in flight (icmp_flight.Probe, in C): made by enqueue only.",
    .tp_basicsize = sizeof(Probe),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_dealloc = (destructor)Probe_dealloc,
    .tp_traverse = (traverseproc)Probe_traverse,
    .tp_clear = (inquiry)Probe_clear,
    .tp_members = Probe_members,
};

static Probe *new_probe(void) {
    Probe *p = PyObject_GC_New(Probe, &ProbeType);
    if (p == NULL) return NULL;
    p->addr = p->dest = p->sockaddr = p->fam = p->packet = p->expect = p->batch = NULL;
    p->wire = 0;
    p->index = 0;
    p->sent = 0;
    return p;
}

/* -- Batches: what drain and send touch of icmp_flight.Batch, a run of replies at a time -- */
typedef struct {
    PyObject *b, *rtts; /* held while the run is on them */
    double timeout;
    long left;
    int dirty;
} Run;

/* Write back the count of the batch the run was on (b.left) and let go of it. 0, or -1. */
static int run_end(Run *r) {
    int result = 0;
    if (r->b != NULL && r->dirty) {
        PyObject *left = PyLong_FromLong(r->left);
        result = left == NULL ? -1 : PyObject_SetAttr(r->b, s_left, left);
        Py_XDECREF(left);
    }
    r->dirty = 0;
    Py_CLEAR(r->b);
    Py_CLEAR(r->rtts);
    return result;
}

/* Make ``b`` the run's batch (reading its timeout, RTT list and count). 0, or -1. */
static int run_on(Run *r, PyObject *b) {
    if (r->b == b) return 0;
    if (run_end(r) < 0) return -1;
    PyObject *t = PyObject_GetAttr(b, s_timeout), *rtts = NULL, *left = NULL;
    int result = -1;
    if (t == NULL || (rtts = PyObject_GetAttr(b, s_rtts)) == NULL ||
        (left = PyObject_GetAttr(b, s_left)) == NULL)
        goto done;
    if (!PyList_CheckExact(rtts)) {
        PyErr_SetString(PyExc_TypeError, "a batch's rtts must be a list");
        goto done;
    }
    r->timeout = PyFloat_AsDouble(t);
    r->left = PyLong_AsLong(left);
    if (PyErr_Occurred()) goto done;
    r->b = Py_NewRef(b);
    r->rtts = Py_NewRef(rtts);
    result = 0;
done:
    Py_XDECREF(t);
    Py_XDECREF(rtts);
    Py_XDECREF(left);
    return result;
}

/* -- drain ------------------------------------------------------------------------------- */
static int is_reply(Probe *p, const unsigned char *pkt, Py_ssize_t len, Py_ssize_t icmp, int skip,
                    int kind, const char *source) {
    PyObject *expect = p->expect;
    if (expect == NULL || !PyBytes_Check(expect) || len - icmp - skip != PyBytes_GET_SIZE(expect))
        return 0;
    if (memcmp(pkt + icmp + skip, PyBytes_AS_STRING(expect), (size_t)(len - icmp - skip)) != 0)
        return 0;
    if (skip && (pkt[icmp] != kind || pkt[icmp + 1] != 0)) return 0;
    return p->addr != NULL && PyUnicode_Check(p->addr) &&
           PyUnicode_CompareWithASCIIString(p->addr, source) == 0;
}

/* Record p's reply (rx ns): 1 if recorded, 0 if it exceeds its timeout (slow path), -1 on
 * error. A batch whose last echo this was is appended to ``ended``. */
static int record(PyObject *slots, Py_ssize_t wire, Probe *p, long long rx, Run *run,
                  PyObject *ended) {
    if (p->batch == NULL || run_on(run, p->batch) < 0) return -1;
    double rtt = (double)(rx - p->sent) / 1e9;
    if (rtt > run->timeout) return 0;
    if (p->index < 0 || p->index >= PyList_GET_SIZE(run->rtts)) {
        PyErr_SetString(PyExc_IndexError, "a probe's index is outside its batch");
        return -1;
    }
    PyObject *value = PyFloat_FromDouble(rtt > 0 ? rtt : 0.0);
    if (value == NULL) return -1;
    PyList_SetItem(run->rtts, p->index, value); /* steals value */
    Py_INCREF(Py_None);
    PyList_SetItem(slots, wire, Py_None); /* p: still held by the caller */
    run->left -= 1;
    run->dirty = 1;
    if (run->left == 0 && PyList_Append(ended, run->b) < 0) return -1;
    return 1;
}

/* One received packet: fast path, else appended to ``others``. 0, or -1 on error. */
static int take(PyObject *slots, const unsigned char *pkt, Py_ssize_t len,
                struct sockaddr_storage *sa, long long rx, int kernel, int strip_ip, int skip,
                int kind, long *received, long *stamped, Run *run, PyObject *ended,
                PyObject *others) {
    char source[INET6_ADDRSTRLEN] = "";
    int known = source_text(sa, source, sizeof source);
    Py_ssize_t icmp = strip_ip && len > 0 ? (Py_ssize_t)((pkt[0] & 15) << 2) : 0;
    Py_ssize_t wire = len >= icmp + 8 ? (pkt[icmp + 6] << 8 | pkt[icmp + 7]) : 0;
    PyObject *p = PyList_GET_ITEM(slots, wire);
    if (known && Py_IS_TYPE(p, &ProbeType) &&
        is_reply((Probe *)p, pkt, len, icmp, skip, kind, source)) {
        Py_INCREF(p);
        int r = record(slots, wire, (Probe *)p, rx, run, ended);
        Py_DECREF(p);
        if (r < 0) return -1;
        if (r == 1) {
            *received += 1;
            *stamped += kernel;
            return 0;
        }
    }
    PyObject *other = Py_BuildValue("(y#sLi)", (const char *)pkt, len, source, rx, kernel);
    if (other == NULL) return -1;
    int r = PyList_Append(others, other);
    Py_DECREF(other);
    return r;
}

static PyObject *native_drain(PyObject *self, PyObject *args) {
    (void)self;
    int fd, strip_ip, skip, kind;
    PyObject *slots;
    if (!PyArg_ParseTuple(args, "iO!pii", &fd, &PyList_Type, &slots, &strip_ip, &skip, &kind))
        return NULL;
    if (PyList_GET_SIZE(slots) != WIRE || skip < 0 || skip > 8) {
        PyErr_SetString(PyExc_ValueError, "drain: slots must hold 65,536 entries, skip 0-8");
        return NULL;
    }
    Run run = {0};
    PyObject *ended = PyList_New(0), *others = PyList_New(0);
    if (ended == NULL || others == NULL) goto fail;
    long long offset = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
    long received = 0, stamped = 0;
    for (;;) {
        for (int i = 0; i < VLEN; i++) {
            iovs[i].iov_base = bufs[i];
            iovs[i].iov_len = RECV_BYTES;
            struct msghdr *h = &msgs[i].msg_hdr;
            h->msg_name = &names[i];
            h->msg_namelen = sizeof names[i];
            h->msg_iov = &iovs[i];
            h->msg_iovlen = 1;
            h->msg_control = controls[i].buf;
            h->msg_controllen = sizeof controls[i].buf;
            h->msg_flags = 0;
        }
        int got = recvmmsg(fd, msgs, VLEN, MSG_DONTWAIT, NULL);
        if (got <= 0) break; /* EAGAIN: drained; anything else: nothing more to read now */
        for (int i = 0; i < got; i++) {
            long long stamp = stamp_of(&msgs[i].msg_hdr);
            int kernel = stamp >= 0;
            long long rx = kernel ? stamp - offset : clock_ns(CLOCK_MONOTONIC);
            Py_ssize_t len = msgs[i].msg_len > RECV_BYTES ? RECV_BYTES : msgs[i].msg_len;
            if (take(slots, bufs[i], len, &names[i], rx, kernel, strip_ip, skip, kind, &received,
                     &stamped, &run, ended, others) < 0)
                goto fail;
        }
        if (got < VLEN) break;
    }
    if (run_end(&run) < 0) goto fail;
    return Py_BuildValue("(llNN)", received, stamped, ended, others);
fail:
    if (run.b != NULL) { /* the counts taken so far still hold: write them back */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (run_end(&run) < 0) PyErr_Clear();
        PyErr_Restore(type, value, tb);
    }
    Py_XDECREF(ended);
    Py_XDECREF(others);
    return NULL;
}

/* -- send -------------------------------------------------------------------------------- */
/* Send one probe: 0 when sent, else errno (p.sent is set either way). */
static int send_one(Probe *p, int fd4, int fd6) {
    Py_ssize_t salen = PyBytes_GET_SIZE(p->sockaddr);
    int fd = salen == (Py_ssize_t)sizeof(struct sockaddr_in6) ? fd6 : fd4;
    p->sent = clock_ns(CLOCK_MONOTONIC);
    ssize_t r = sendto(fd, PyBytes_AS_STRING(p->packet), (size_t)PyBytes_GET_SIZE(p->packet), 0,
                       (const struct sockaddr *)PyBytes_AS_STRING(p->sockaddr), (socklen_t)salen);
    return r < 0 ? (errno ? errno : EIO) : 0;
}

/* After a send: the batch's send time if it has none of its own (b.at is None). */
static int stamp_at(Probe *p, PyObject *wall) {
    PyObject *at = PyObject_GetAttr(p->batch, s_at), *ats = NULL, *index = NULL;
    int result = at == NULL ? -1 : 0;
    if (at == Py_None) {
        ats = PyObject_GetAttr(p->batch, s_ats);
        index = PyLong_FromSsize_t(p->index);
        result = ats == NULL || index == NULL ? -1 : PyObject_SetItem(ats, index, wall);
    }
    Py_XDECREF(at);
    Py_XDECREF(ats);
    Py_XDECREF(index);
    return result;
}

static PyObject *native_send(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *queue, *wall;
    Py_ssize_t n;
    int fd4, fd6;
    if (!PyArg_ParseTuple(args, "OniiO", &queue, &n, &fd4, &fd6, &wall)) return NULL;
    PyObject *sent = PyList_New(0);
    if (sent == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyObject_CallMethodNoArgs(queue, s_popleft);
        if (o == NULL) goto fail;
        if (!Py_IS_TYPE(o, &ProbeType) || ((Probe *)o)->packet == NULL ||
            !PyBytes_Check(((Probe *)o)->packet) || !PyBytes_Check(((Probe *)o)->sockaddr) ||
            ((Probe *)o)->batch == NULL) {
            Py_DECREF(o);
            PyErr_SetString(PyExc_TypeError, "send: the queue must hold native Probes");
            goto fail;
        }
        Probe *p = (Probe *)o;
        int err = send_one(p, fd4, fd6);
        if (err != 0) {
            PyObject *back = PyObject_CallMethodOneArg(queue, s_appendleft, o);
            Py_DECREF(o);
            if (back == NULL) goto fail;
            Py_DECREF(back);
            PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", err, strerror(err));
            if (exc == NULL) goto fail;
            return Py_BuildValue("(NN)", sent, exc);
        }
        int r = stamp_at(p, wall) < 0 ? -1 : PyList_Append(sent, o);
        Py_DECREF(o);
        if (r < 0) goto fail;
    }
    return Py_BuildValue("(NO)", sent, Py_None);
fail:
    Py_DECREF(sent);
    return NULL;
}

/* -- enqueue ------------------------------------------------------------------------------ */
/* The bytes of an echo request and of its reply (from byte ``skip`` on), as
 * icmp_packet.Echoes.pair builds them: the IPv4 checksum by RFC 1624's incremental update. */
typedef struct {
    unsigned ident, sum, v6, skip, req_word, rep_word;
    unsigned char payload[12];
} Echo;

static void put16(unsigned char *b, unsigned v) {
    b[0] = (unsigned char)(v >> 8);
    b[1] = (unsigned char)v;
}

static void build(const Echo *e, unsigned long seq, unsigned char *req, unsigned char *rep) {
    unsigned wire = seq & 0xFFFF, creq = 0, crep = 0;
    if (!e->v6) {
        unsigned long s = (e->sum + 2UL * wire + (seq >> 16)) % 0xFFFF;
        creq = 0xFFFF ^ (s ? (unsigned)s : 0xFFFF);
        /* a reply differs from its request only in the type word: ones' complement less it */
        unsigned long r = ((s ? s : 0xFFFF) + (0xFFFFUL ^ e->req_word) + e->rep_word) % 0xFFFF;
        crep = 0xFFFF ^ (r ? (unsigned)r : 0xFFFF);
    }
    unsigned char *out[2] = {req, rep};
    unsigned words[2] = {e->req_word, e->rep_word}, sums[2] = {creq, crep};
    for (int i = 0; i < 2; i++) {
        put16(out[i], words[i]);
        put16(out[i] + 2, sums[i]);
        put16(out[i] + 4, e->ident);
        put16(out[i] + 6, wire);
        memcpy(out[i] + 8, e->payload, 12);
        put16(out[i] + 20, (unsigned)(seq >> 16));
        put16(out[i] + 22, wire);
    }
}

static int echo_of(PyObject *params, Echo *e) {
    Py_buffer payload;
    if (!PyArg_ParseTuple(params, "IIIpIIy*", &e->ident, &e->sum, &e->skip, &e->v6, &e->req_word,
                          &e->rep_word, &payload))
        return -1;
    int ok = payload.len == 12 && e->skip <= 8;
    if (ok) memcpy(e->payload, payload.buf, 12);
    PyBuffer_Release(&payload);
    if (!ok) PyErr_SetString(PyExc_ValueError, "enqueue: a 12-byte payload, skip 0-8");
    return ok ? 0 : -1;
}

/* One probe for resolved target ``r`` (addr, v6, dest, sockaddr), at wire ``wire``. */
static Probe *probe_for(PyObject *r, PyObject *fam, const Echo *e, unsigned long seq,
                        PyObject *batch, Py_ssize_t index) {
    unsigned char req[24], rep[24];
    build(e, seq, req, rep);
    Probe *p = new_probe();
    if (p == NULL) return NULL;
    p->packet = PyBytes_FromStringAndSize((const char *)req, 24);
    p->expect = PyBytes_FromStringAndSize((const char *)rep + e->skip, 24 - e->skip);
    if (p->packet == NULL || p->expect == NULL) {
        Py_DECREF(p);
        return NULL;
    }
    PyObject **fields[] = {&p->addr, &p->dest, &p->sockaddr};
    for (int i = 0; i < 3; i++) *fields[i] = Py_NewRef(PyTuple_GET_ITEM(r, i == 0 ? 0 : i + 1));
    p->fam = Py_NewRef(fam);
    p->batch = Py_NewRef(batch);
    p->wire = (long)(seq & 0xFFFF);
    p->index = index;
    PyObject_GC_Track(p);
    return p;
}

static PyObject *native_enqueue(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *resolved, *fams, *params, *slots, *queue, *batch;
    unsigned long seq;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "O!O!O!O!OOkn", &PyList_Type, &resolved, &PyTuple_Type, &fams,
                          &PyTuple_Type, &params, &PyList_Type, &slots, &queue, &batch, &seq, &n))
        return NULL;
    if (PyList_GET_SIZE(slots) != WIRE || PyTuple_GET_SIZE(fams) != 2 ||
        PyTuple_GET_SIZE(params) != 2 || n > PyList_GET_SIZE(resolved)) {
        PyErr_SetString(PyExc_ValueError, "enqueue: bad arguments");
        return NULL;
    }
    Echo echoes[2];
    for (int v6 = 0; v6 < 2; v6++)
        if (PyTuple_GET_ITEM(params, v6) != Py_None && echo_of(PyTuple_GET_ITEM(params, v6), &echoes[v6]) < 0)
            return NULL;
    for (Py_ssize_t index = 0; index < n; index++) {
        PyObject *r = PyList_GET_ITEM(resolved, index);
        if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != 4) {
            PyErr_SetString(PyExc_TypeError, "enqueue: a resolved target is a 4-tuple");
            return NULL;
        }
        int v6 = PyObject_IsTrue(PyTuple_GET_ITEM(r, 1));
        if (v6 < 0) return NULL;
        if (PyTuple_GET_ITEM(params, v6) == Py_None) {
            PyErr_SetString(PyExc_ValueError, "enqueue: no socket for this family");
            return NULL;
        }
        seq = (seq + 1) & 0xFFFFFFFFUL;
        while (PyList_GET_ITEM(slots, seq & 0xFFFF) != Py_None) seq = (seq + 1) & 0xFFFFFFFFUL;
        Probe *p = probe_for(r, PyTuple_GET_ITEM(fams, v6), &echoes[v6], seq, batch, index);
        if (p == NULL) return NULL;
        PyList_SetItem(slots, (Py_ssize_t)(seq & 0xFFFF), Py_NewRef((PyObject *)p));
        PyObject *ok = PyObject_CallMethodOneArg(queue, s_append, (PyObject *)p);
        Py_DECREF(p);
        if (ok == NULL) return NULL;
        Py_DECREF(ok);
    }
    return PyLong_FromUnsignedLong(seq);
}

static PyMethodDef methods[] = {
    {"drain", native_drain, METH_VARARGS, "drain(fd, slots, strip_ip, skip, kind) -> (received, stamped, ended, others)"},
    {"send", native_send, METH_VARARGS, "send(queue, n, fd4, fd6, wall) -> (sent probes, OSError or None)"},
    {"enqueue", native_enqueue, METH_VARARGS,
     "enqueue(resolved, fams, params, slots, queue, batch, seq, n) -> the last sequence used"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_native", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit__native(void) {
    const char *names_[] = {"timeout", "rtts", "left", "popleft", "append", "appendleft", "at", "ats"};
    PyObject **interned[] = {&s_timeout, &s_rtts, &s_left, &s_popleft, &s_append, &s_appendleft,
                             &s_at, &s_ats};
    for (size_t i = 0; i < sizeof names_ / sizeof *names_; i++)
        if ((*interned[i] = PyUnicode_InternFromString(names_[i])) == NULL) return NULL;
    if (PyType_Ready(&ProbeType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL || PyModule_AddObjectRef(m, "Probe", (PyObject *)&ProbeType) < 0) {
        Py_XDECREF(m);
        return NULL;
    }
    return m;
}
