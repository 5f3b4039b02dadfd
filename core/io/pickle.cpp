#include "io/pickle.h"

#include "io/unpickler.h"

namespace dilute::io::pickle {
namespace detail {
namespace {
bool starts(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Globals that rebuild tensors or containers (interpreted here, never called), and the harmless
// classes of training checkpoints that become opaque values in entries we do not use.
const std::set<std::string>& rebuilders() {
    static const std::set<std::string> s{
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state", "torch._tensor._rebuild_from_type_v2"};
    return s;
}
const std::set<std::string>& containers() {
    static const std::set<std::string> s{"collections.OrderedDict", "builtins.dict", "builtins.set",
                                         "builtins.frozenset",      "builtins.list", "builtins.tuple",
                                         "__builtin__.set"};
    return s;
}
const std::set<std::string>& opaques() {
    static const std::set<std::string> s{"argparse.Namespace",
                                         "numpy.core.multiarray.scalar",
                                         "numpy._core.multiarray.scalar",
                                         "numpy.dtype",
                                         "numpy.core.multiarray._reconstruct",
                                         "numpy._core.multiarray._reconstruct",
                                         "numpy.ndarray",
                                         "_codecs.encode",
                                         "torch.device",
                                         "torch.Size",
                                         "torch.nn.parameter.Parameter",
                                         "torch.Tensor",
                                         "copyreg._reconstructor",
                                         "copy_reg._reconstructor",
                                         "builtins.object",
                                         "pathlib.PosixPath",
                                         "pathlib.WindowsPath",
                                         "builtins.slice",
                                         "torch.torch_version.TorchVersion",
                                         "collections.defaultdict",
                                         "datetime.datetime",
                                         "builtins.bytearray"};
    return s;
}
const std::set<std::string>& torchDtypes() {
    static const std::set<std::string> s{"float32", "float16", "bfloat16", "float64", "int64", "int32",  "int16",
                                         "int8",    "uint8",   "bool",     "float",   "half",  "double", "long"};
    return s;
}
}  // namespace

ValuePtr Unpickler::global(const std::string& mod, const std::string& name) {
    const std::string full = mod + "." + name;
    const bool ok = rebuilders().count(full) || containers().count(full) || opaques().count(full) ||
                    !storageDtype(full).empty() || (mod == "torch" && torchDtypes().count(name));
    if (!ok)
        fail("refuses the pickled global '" + full +
             "': a checkpoint is read for its tensors and plain containers only, and nothing in it is run "
             "(a whole pickled model object? save its state_dict() instead)");
    auto v = make(Kind::Global);
    v->s = full;
    return v;
}

ValuePtr Unpickler::tensor(const std::vector<ValuePtr>& a) {
    if (a.size() < 4 || a[0]->kind != Kind::Storage || a[1]->kind != Kind::Int || a[2]->kind != Kind::Tuple ||
        a[3]->kind != Kind::Tuple || a[2]->items.size() != a[3]->items.size() || a[2]->items.size() > 16)
        fail("malformed tensor record");
    auto v = make(Kind::Tensor);
    v->tensor.storage = a[0]->storage;
    v->tensor.offset = a[1]->i;
    for (size_t i = 0; i < a[2]->items.size(); ++i) {
        if (a[2]->items[i]->kind != Kind::Int || a[3]->items[i]->kind != Kind::Int) fail("malformed tensor shape");
        v->tensor.size.push_back(a[2]->items[i]->i);
        v->tensor.stride.push_back(a[3]->items[i]->i);
    }
    return v;
}

ValuePtr Unpickler::reduce(const ValuePtr& fn, const ValuePtr& args) {
    if (args->kind != Kind::Tuple) fail("malformed pickle: REDUCE arguments are not a tuple");
    const auto& a = args->items;
    if (fn->kind != Kind::Global) return make(Kind::Opaque);
    const std::string& f = fn->s;
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") return tensor(a);
    if (starts(f, "torch._utils._rebuild_parameter")) {
        if (a.empty() || a[0]->kind != Kind::Tensor) fail("malformed parameter record");
        return a[0];
    }
    if (f == "torch._tensor._rebuild_from_type_v2") {
        if (a.size() < 3 || a[0]->kind != Kind::Global || a[2]->kind != Kind::Tuple) fail("malformed tensor record");
        return reduce(a[0], a[2]);
    }
    if (f == "collections.OrderedDict" || f == "builtins.dict") {
        auto d = make(Kind::Dict);
        if (!a.empty() && a[0]->kind == Kind::List)
            for (const auto& pair : a[0]->items) {
                if (pair->kind != Kind::Tuple || pair->items.size() != 2) fail("malformed dict record");
                adopt(*d, pair->items[0]);
                adopt(*d, pair->items[1]);
            }
        return d;
    }
    if (containers().count(f))
        return !a.empty() && a[0]->kind == Kind::List ? seq(Kind::List, a[0]->items) : make(Kind::List);
    auto o = make(Kind::Opaque);
    o->s = f;
    return o;
}

void Unpickler::addItems(const ValuePtr& target, const std::vector<ValuePtr>& items, bool pairs) {
    if (target->kind == Kind::Opaque) return;  // e.g. a defaultdict in an entry we do not use
    if (pairs ? target->kind != Kind::Dict : target->kind != Kind::List)
        fail("malformed pickle: items added to a non-container");
    if (pairs && items.size() % 2) fail("malformed pickle: odd SETITEMS");
    for (const auto& it : items) adopt(*target, it);
}

}  // namespace detail

int dtypeBytes(const std::string& t) {
    if (t == "F64" || t == "I64") return 8;
    if (t == "F32" || t == "I32") return 4;
    if (t == "F16" || t == "BF16" || t == "I16") return 2;
    if (t == "I8" || t == "U8" || t == "BOOL") return 1;
    return 0;
}

std::string storageDtype(const std::string& g) {
    static const std::map<std::string, std::string> m{
        {"torch.FloatStorage", "F32"},  {"torch.HalfStorage", "F16"},  {"torch.BFloat16Storage", "BF16"},
        {"torch.DoubleStorage", "F64"}, {"torch.LongStorage", "I64"},  {"torch.IntStorage", "I32"},
        {"torch.ShortStorage", "I16"},  {"torch.CharStorage", "I8"},   {"torch.ByteStorage", "U8"},
        {"torch.BoolStorage", "BOOL"},  {"torch.UntypedStorage", "U8"}};
    auto it = m.find(g);
    return it == m.end() ? std::string() : it->second;
}

ValuePtr dictGet(const ValuePtr& dict, const std::string& key) {
    if (!dict || dict->kind != Kind::Dict) return nullptr;
    for (size_t i = 0; i + 1 < dict->items.size(); i += 2)
        if (dict->items[i]->kind == Kind::String && dict->items[i]->s == key) return dict->items[i + 1];
    return nullptr;
}

std::vector<std::string> dictKeys(const ValuePtr& dict) {
    std::vector<std::string> out;
    if (!dict || dict->kind != Kind::Dict) return out;
    for (size_t i = 0; i + 1 < dict->items.size(); i += 2)
        if (dict->items[i]->kind == Kind::String) out.push_back(dict->items[i]->s);
    return out;
}

}  // namespace dilute::io::pickle
