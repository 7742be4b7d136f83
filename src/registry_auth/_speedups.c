/*
 * registry_auth._speedups: ImageReference.parse in C, for CPython.
 *
 * parse(text) reads an image reference the way registry_auth/_reference.py does (the
 * distribution/reference grammar, then Docker's normalization) by scanning it once, and returns
 * a finished ImageReference. It returns None for everything that is not a valid reference and
 * for anything that is not a str: the Python code then raises the precise error, or the
 * TypeError. Whatever it accepts, it builds exactly the value the Python parser builds; the test
 * suite compares the two on generated texts.
 *
 * configure(cls, slots) must be called first. It hands over the ImageReference class and the
 * member descriptors of its slots (registry, repository, tag, digest and attrs' hash cache).
 * parse() allocates an instance with the class's own tp_alloc, as object.__new__ does, and
 * stores the values at the offsets those descriptors read and write; that is what the
 * attrs-generated __init__ ends up doing, less the call and five descriptor calls. configure()
 * checks each descriptor first: a member descriptor defined by this very class, for a plain
 * object slot (T_OBJECT_EX, writable, no flags), inside the instance, no two alike. On anything
 * else it raises, and the Python code keeps its own parser.
 *
 * Plain C99 and the CPython C API of Python 3.10 to 3.13: the stable API where it is enough,
 * and the documented structures of descriptors and types (reading them only) where it is not.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030C0000
/* PyMemberDef and its constants, before Python 3.12 moved them into Python.h. */
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

#include <string.h>

/* -- Characters ----------------------------------------------------------------------- */

/* What each character may be: one bit per class of the grammar. */
enum {
    C_LOWER = 0x01, /* a-z 0-9: path components */
    C_HOST = 0x02,  /* a-z A-Z 0-9: host labels */
    C_DIGIT = 0x04, /* 0-9: ports */
    C_WORD = 0x08,  /* a-z A-Z 0-9 _: a tag's first character */
    C_TAG = 0x10,   /* a-z A-Z 0-9 _ . -: a tag's other characters */
    C_HEX = 0x20,   /* 0-9 a-f: digests, lowercase only */
    C_IPV6 = 0x40,  /* 0-9 a-f A-F : inside the brackets of an IPv6 address */
    C_MARK = 0x80   /* . : A-Z: a first component holding one names a registry */
};

#define DIGIT (C_LOWER | C_HOST | C_DIGIT | C_WORD | C_TAG | C_HEX | C_IPV6)
#define HEX_LOWER (C_LOWER | C_HOST | C_WORD | C_TAG | C_HEX | C_IPV6)
#define LOWER (C_LOWER | C_HOST | C_WORD | C_TAG)
#define HEX_UPPER (C_HOST | C_WORD | C_TAG | C_IPV6 | C_MARK)
#define UPPER (C_HOST | C_WORD | C_TAG | C_MARK)

/* 256 entries, though parse() only looks up ASCII: no byte can index past the table. */
static const unsigned char CLASSES[256] = {
    ['-'] = C_TAG, ['.'] = C_TAG | C_MARK, [':'] = C_IPV6 | C_MARK, ['_'] = C_WORD | C_TAG,
    ['0'] = DIGIT, ['1'] = DIGIT, ['2'] = DIGIT, ['3'] = DIGIT, ['4'] = DIGIT, ['5'] = DIGIT,
    ['6'] = DIGIT, ['7'] = DIGIT, ['8'] = DIGIT, ['9'] = DIGIT,
    ['a'] = HEX_LOWER, ['b'] = HEX_LOWER, ['c'] = HEX_LOWER,
    ['d'] = HEX_LOWER, ['e'] = HEX_LOWER, ['f'] = HEX_LOWER,
    ['g'] = LOWER, ['h'] = LOWER, ['i'] = LOWER, ['j'] = LOWER, ['k'] = LOWER, ['l'] = LOWER,
    ['m'] = LOWER, ['n'] = LOWER, ['o'] = LOWER, ['p'] = LOWER, ['q'] = LOWER, ['r'] = LOWER,
    ['s'] = LOWER, ['t'] = LOWER, ['u'] = LOWER, ['v'] = LOWER, ['w'] = LOWER, ['x'] = LOWER,
    ['y'] = LOWER, ['z'] = LOWER,
    ['A'] = HEX_UPPER, ['B'] = HEX_UPPER, ['C'] = HEX_UPPER,
    ['D'] = HEX_UPPER, ['E'] = HEX_UPPER, ['F'] = HEX_UPPER,
    ['G'] = UPPER, ['H'] = UPPER, ['I'] = UPPER, ['J'] = UPPER, ['K'] = UPPER, ['L'] = UPPER,
    ['M'] = UPPER, ['N'] = UPPER, ['O'] = UPPER, ['P'] = UPPER, ['Q'] = UPPER, ['R'] = UPPER,
    ['S'] = UPPER, ['T'] = UPPER, ['U'] = UPPER, ['V'] = UPPER, ['W'] = UPPER, ['X'] = UPPER,
    ['Y'] = UPPER, ['Z'] = UPPER,
};

#define IS(class, c) (CLASSES[(unsigned char)(c)] & (class))

/* -- The grammar ---------------------------------------------------------------------- */

#define NAME_MAX_LENGTH 255  /* a repository path, library/ included */
#define TAG_MAX_LENGTH 128
#define IMAGE_ID_LENGTH 64   /* a bare name of 64 lowercase hex digits is an image ID */
#define DIGEST_PREFIX_LENGTH 7 /* "sha256:" */

static const char DOCKER_HUB[] = "docker.io";
static const char LEGACY_DOCKER_HUB[] = "index.docker.io";
static const char LOCALHOST[] = "localhost";
static const char OFFICIAL_PREFIX[] = "library/";

#define LITERAL_LENGTH(literal) ((Py_ssize_t)(sizeof(literal) - 1))

/* Where the parts of a valid reference lie in its text, as [start, end) offsets. */
typedef struct {
    Py_ssize_t registry_end; /* the registry is text[0:registry_end], unless on_docker_hub */
    int on_docker_hub;       /* named docker.io or index.docker.io, or not named */
    Py_ssize_t path_start, path_end;
    int path_has_slash;
    Py_ssize_t tag_start, tag_end;  /* tag_start < 0: no tag */
    Py_ssize_t digest_start;        /* < 0: no digest; else it runs to the end */
} Parts;

static int
equals_literal(const unsigned char *text, Py_ssize_t length, const char *literal,
               Py_ssize_t literal_length)
{
    return length == literal_length && memcmp(text, literal, (size_t)literal_length) == 0;
}

/* Whether Docker reads the first component, text[0:end], as a registry rather than a path:
   it holds '.', ':' or an uppercase letter, or is localhost. */
static int
names_registry(const unsigned char *text, Py_ssize_t end)
{
    Py_ssize_t i;
    for (i = 0; i < end; i++) {
        if (IS(C_MARK, text[i])) {
            return 1;
        }
    }
    return equals_literal(text, end, LOCALHOST, LITERAL_LENGTH(LOCALHOST));
}

/* Whether text[0:end] is a registry: host names joined by '.' (each an alphanumeric, then
   alphanumerics and '-', not ending in '-'), or an IPv6 address in brackets; then :port. */
static int
scan_registry(const unsigned char *text, Py_ssize_t end)
{
    Py_ssize_t i = 0;
    if (end == 0) {
        return 0;
    }
    if (text[0] == '[') {
        i = 1;
        while (i < end && IS(C_IPV6, text[i])) {
            i++;
        }
        if (i == 1 || i >= end || text[i] != ']') {
            return 0;
        }
        i++;
    }
    else {
        for (;;) {
            if (i >= end || !IS(C_HOST, text[i])) {
                return 0;
            }
            i++;
            while (i < end && (IS(C_HOST, text[i]) || text[i] == '-')) {
                i++;
            }
            if (text[i - 1] == '-') {
                return 0;
            }
            if (i < end && text[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    if (i < end) {
        if (text[i] != ':' || ++i >= end) {
            return 0;
        }
        while (i < end && IS(C_DIGIT, text[i])) {
            i++;
        }
    }
    return i == end;
}

/* Scan a repository path from parts->path_start: components of lowercase alphanumerics joined
   by '.', '_', '__' or runs of '-', themselves joined by '/'. Return where it ends, or -1. */
static Py_ssize_t
scan_path(const unsigned char *text, Py_ssize_t length, Parts *parts)
{
    Py_ssize_t i = parts->path_start;
    for (;;) {
        /* A component: an alphanumeric run, then (separator, alphanumeric run)*. */
        if (i >= length || !IS(C_LOWER, text[i])) {
            return -1;
        }
        i++;
        for (;;) {
            while (i < length && IS(C_LOWER, text[i])) {
                i++;
            }
            if (i >= length) {
                return i;
            }
            if (text[i] == '.') {
                i++;
            }
            else if (text[i] == '_') {
                i++;
                if (i < length && text[i] == '_') {
                    i++;
                }
            }
            else if (text[i] == '-') {
                do {
                    i++;
                } while (i < length && text[i] == '-');
            }
            else {
                break;
            }
            if (i >= length || !IS(C_LOWER, text[i])) {
                return -1;
            }
            i++;
        }
        if (text[i] != '/') {
            return i;
        }
        parts->path_has_slash = 1;
        i++;
    }
}

/* Whether text[start:length] is a digest the engine can verify: sha256, sha384 or sha512,
   then ':' and exactly 64, 96 or 128 lowercase hex digits. */
static int
scan_digest(const unsigned char *text, Py_ssize_t start, Py_ssize_t length)
{
    Py_ssize_t hex_length, i;
    if (length - start < DIGEST_PREFIX_LENGTH || memcmp(text + start, "sha", 3) != 0 ||
        text[start + 6] != ':') {
        return 0;
    }
    if (memcmp(text + start + 3, "256", 3) == 0) {
        hex_length = 64;
    }
    else if (memcmp(text + start + 3, "384", 3) == 0) {
        hex_length = 96;
    }
    else if (memcmp(text + start + 3, "512", 3) == 0) {
        hex_length = 128;
    }
    else {
        return 0;
    }
    if (length - start - DIGEST_PREFIX_LENGTH != hex_length) {
        return 0;
    }
    for (i = start + DIGEST_PREFIX_LENGTH; i < length; i++) {
        if (!IS(C_HEX, text[i])) {
            return 0;
        }
    }
    return 1;
}

/* Whether text (ASCII, length characters) is a valid reference; if so, fill parts. */
static int
scan(const unsigned char *text, Py_ssize_t length, Parts *parts)
{
    const unsigned char *slash;
    Py_ssize_t i;

    if (length == 0) {
        return 0;
    }
    if (length == IMAGE_ID_LENGTH) {
        for (i = 0; i < length && IS(C_HEX, text[i]); i++) {
        }
        if (i == length) {
            return 0;
        }
    }

    parts->registry_end = 0;
    parts->on_docker_hub = 1;
    parts->path_start = 0;
    parts->path_has_slash = 0;
    parts->tag_start = parts->tag_end = parts->digest_start = -1;

    slash = memchr(text, '/', (size_t)length);
    if (slash != NULL && names_registry(text, slash - text)) {
        Py_ssize_t end = slash - text;
        if (!scan_registry(text, end)) {
            return 0;
        }
        parts->registry_end = end;
        parts->on_docker_hub =
            equals_literal(text, end, DOCKER_HUB, LITERAL_LENGTH(DOCKER_HUB)) ||
            equals_literal(text, end, LEGACY_DOCKER_HUB, LITERAL_LENGTH(LEGACY_DOCKER_HUB));
        parts->path_start = end + 1;
    }

    i = scan_path(text, length, parts);
    if (i < 0) {
        return 0;
    }
    parts->path_end = i;
    if (parts->path_end - parts->path_start +
            (parts->on_docker_hub && !parts->path_has_slash ? LITERAL_LENGTH(OFFICIAL_PREFIX) : 0) >
        NAME_MAX_LENGTH) {
        return 0;
    }

    if (i < length && text[i] == ':') {
        i++;
        if (i >= length || !IS(C_WORD, text[i])) {
            return 0;
        }
        parts->tag_start = i++;
        while (i < length && IS(C_TAG, text[i])) {
            i++;
        }
        if (i - parts->tag_start > TAG_MAX_LENGTH) {
            return 0;
        }
        parts->tag_end = i;
    }
    if (i < length && text[i] == '@') {
        if (!scan_digest(text, i + 1, length)) {
            return 0;
        }
        parts->digest_start = i + 1;
        i = length;
    }
    return i == length;
}

/* -- The module ----------------------------------------------------------------------- */

/* The slots of ImageReference parse() fills, in the order configure() receives them. */
enum { REGISTRY, REPOSITORY, TAG, DIGEST, CACHED_HASH, SLOT_COUNT };

typedef struct {
    PyTypeObject *cls;         /* ImageReference, or NULL before configure() */
    allocfunc alloc;           /* its tp_alloc */
    Py_ssize_t offsets[SLOT_COUNT];
    PyObject *docker_hub;      /* "docker.io", shared by every reference on Docker Hub */
} ModuleState;

static ModuleState *
state_of(PyObject *module)
{
    return (ModuleState *)PyModule_GetState(module);
}

/* text[start:end] as a new str (exact str, even for a str subclass). */
static PyObject *
slice(PyObject *text, Py_ssize_t start, Py_ssize_t end)
{
    return PyUnicode_Substring(text, start, end);
}

/* "library/" + text[start:end]. */
static PyObject *
official(const unsigned char *data, Py_ssize_t start, Py_ssize_t end)
{
    Py_ssize_t prefix = LITERAL_LENGTH(OFFICIAL_PREFIX);
    PyObject *result = PyUnicode_New(prefix + end - start, 127);
    if (result != NULL) {
        Py_UCS1 *out = PyUnicode_1BYTE_DATA(result);
        memcpy(out, OFFICIAL_PREFIX, (size_t)prefix);
        memcpy(out + prefix, data + start, (size_t)(end - start));
    }
    return result;
}

PyDoc_STRVAR(parse_doc,
"parse(text, /)\n--\n\n"
"The ImageReference ``text`` names, or None if it is not a valid reference (or not a str).\n\n"
"Raises RuntimeError before configure() has been called.");

static PyObject *
parse(PyObject *module, PyObject *text)
{
    ModuleState *state = state_of(module);
    const unsigned char *data;
    Py_ssize_t length;
    Parts parts;
    PyObject *values[SLOT_COUNT] = {NULL};
    PyObject *result;
    int i;

    if (state->cls == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "registry_auth._speedups.configure() was not called");
        return NULL;
    }
    if (!PyUnicode_Check(text)) {
        Py_RETURN_NONE;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
#endif
    /* 0x7f: the text is ASCII, hence one byte per character. */
    if (PyUnicode_MAX_CHAR_VALUE(text) != 0x7f) {
        Py_RETURN_NONE;
    }
    data = PyUnicode_1BYTE_DATA(text);
    length = PyUnicode_GET_LENGTH(text);
    if (!scan(data, length, &parts)) {
        Py_RETURN_NONE;
    }

    if (parts.on_docker_hub) {
        values[REGISTRY] = Py_NewRef(state->docker_hub);
    }
    else {
        values[REGISTRY] = slice(text, 0, parts.registry_end);
    }
    if (parts.on_docker_hub && !parts.path_has_slash) {
        values[REPOSITORY] = official(data, parts.path_start, parts.path_end);
    }
    else {
        values[REPOSITORY] = slice(text, parts.path_start, parts.path_end);
    }
    if (parts.tag_start >= 0) {
        values[TAG] = slice(text, parts.tag_start, parts.tag_end);
    }
    else {
        values[TAG] = Py_NewRef(Py_None);
    }
    if (parts.digest_start >= 0) {
        values[DIGEST] = slice(text, parts.digest_start, length);
    }
    else {
        values[DIGEST] = Py_NewRef(Py_None);
    }
    values[CACHED_HASH] = Py_NewRef(Py_None); /* attrs: "not computed yet" */

    result = NULL;
    if (values[REGISTRY] != NULL && values[REPOSITORY] != NULL && values[TAG] != NULL &&
        values[DIGEST] != NULL) {
        /* Allocating may run a garbage collection, hence any finalizer, hence configure():
           use the class and offsets of before, and keep the class alive meanwhile. */
        PyTypeObject *cls = (PyTypeObject *)Py_NewRef(state->cls);
        allocfunc alloc = state->alloc;
        Py_ssize_t offsets[SLOT_COUNT];
        memcpy(offsets, state->offsets, sizeof(offsets));
        result = alloc(cls, 0);
        if (result != NULL) {
            /* New and zeroed: each slot is NULL; the instance takes over each reference. */
            for (i = 0; i < SLOT_COUNT; i++) {
                *(PyObject **)((char *)result + offsets[i]) = values[i];
            }
        }
        Py_DECREF(cls);
    }
    if (result == NULL) {
        for (i = 0; i < SLOT_COUNT; i++) {
            Py_XDECREF(values[i]);
        }
    }
    return result;
}

PyDoc_STRVAR(configure_doc,
"configure(cls, slots, /)\n--\n\n"
"Make parse() build instances of ``cls``, an attrs slotted class.\n\n"
"``slots`` holds the member descriptors of its registry, repository, tag and digest slots,\n"
"then of attrs' hash cache, in that order. Raises TypeError or ValueError, and changes\n"
"nothing, when they are not slots parse() can fill.");

/* The offset of the slot a member descriptor of cls gives access to, or -1 with an error. */
static Py_ssize_t
slot_offset(PyTypeObject *cls, PyObject *descriptor)
{
    PyMemberDef *member;
    if (!Py_IS_TYPE(descriptor, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "expected a member descriptor, not %.100s",
                     Py_TYPE(descriptor)->tp_name);
        return -1;
    }
    if (PyDescr_TYPE(descriptor) != cls) {
        PyErr_SetString(PyExc_ValueError, "the slot is not one the class itself defines");
        return -1;
    }
    member = ((PyMemberDescrObject *)descriptor)->d_member;
    if (member->type != Py_T_OBJECT_EX || member->flags != 0) {
        PyErr_SetString(PyExc_ValueError, "the slot is not a plain, writable object slot");
        return -1;
    }
    if (member->offset < (Py_ssize_t)sizeof(PyObject) ||
        member->offset > cls->tp_basicsize - (Py_ssize_t)sizeof(PyObject *) ||
        member->offset % (Py_ssize_t)sizeof(PyObject *) != 0) {
        PyErr_SetString(PyExc_ValueError, "the slot lies outside the instance");
        return -1;
    }
    return member->offset;
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    ModuleState *state = state_of(module);
    PyObject *cls_object, *slots;
    PyTypeObject *cls;
    Py_ssize_t offsets[SLOT_COUNT];
    allocfunc alloc;
    int i, j;

    if (!PyArg_ParseTuple(args, "O!O!:configure", &PyType_Type, &cls_object, &PyTuple_Type,
                          &slots)) {
        return NULL;
    }
    cls = (PyTypeObject *)cls_object;
    if (PyTuple_GET_SIZE(slots) != SLOT_COUNT) {
        PyErr_Format(PyExc_TypeError, "expected %d slots, got %zd", SLOT_COUNT,
                     PyTuple_GET_SIZE(slots));
        return NULL;
    }
    /* A class made by a class statement: its instances are freed by CPython's subtype_dealloc,
       which releases what every slot holds; object's __new__, which parse() stands in for. */
    if (!(PyType_GetFlags(cls) & Py_TPFLAGS_HEAPTYPE) || cls->tp_itemsize != 0 ||
        PyType_GetSlot(cls, Py_tp_new) != PyType_GetSlot(&PyBaseObject_Type, Py_tp_new)) {
        PyErr_SetString(PyExc_ValueError,
                        "the class must be a plain class, created by object.__new__");
        return NULL;
    }
    alloc = (allocfunc)PyType_GetSlot(cls, Py_tp_alloc);
    if (alloc == NULL) {
        PyErr_SetString(PyExc_ValueError, "the class has no tp_alloc");
        return NULL;
    }
    for (i = 0; i < SLOT_COUNT; i++) {
        offsets[i] = slot_offset(cls, PyTuple_GET_ITEM(slots, i));
        if (offsets[i] < 0) {
            return NULL;
        }
        for (j = 0; j < i; j++) {
            if (offsets[j] == offsets[i]) {
                PyErr_SetString(PyExc_ValueError, "two of the slots are the same");
                return NULL;
            }
        }
    }
    Py_INCREF(cls);
    Py_XSETREF(state->cls, cls);
    state->alloc = alloc;
    memcpy(state->offsets, offsets, sizeof(offsets));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_O, parse_doc},
    {"configure", configure, METH_VARARGS, configure_doc},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *module)
{
    ModuleState *state = state_of(module);
    state->docker_hub = PyUnicode_FromStringAndSize(DOCKER_HUB, LITERAL_LENGTH(DOCKER_HUB));
    return state->docker_hub == NULL ? -1 : 0;
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModuleState *state = state_of(module);
    if (state != NULL) {
        Py_VISIT(state->cls);
        Py_VISIT(state->docker_hub);
    }
    return 0;
}

static int
module_clear(PyObject *module)
{
    ModuleState *state = state_of(module);
    if (state != NULL) {
        Py_CLEAR(state->cls);
        Py_CLEAR(state->docker_hub);
    }
    return 0;
}

static void
module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"ImageReference.parse in C: see registry_auth/_reference.py, which uses it when it can.");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "registry_auth._speedups",
    module_doc,
    sizeof(ModuleState),
    methods,
    module_slots,
    module_traverse,
    module_clear,
    module_free,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&module_def);
}
