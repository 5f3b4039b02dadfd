// The pickle opcodes (protocols 0 to 5) the files written by torch.save use, and a few more.
#include "io/unpickler.h"

namespace dilute::io::pickle {
namespace detail {

// Constants and plain data: numbers, strings, bytes, None, booleans.
bool Unpickler::stepData(uint8_t op) {
    switch (op) {
        case 'N': stack_.push_back(make(Kind::None)); return true;
        case 0x88:
        case 0x89: {
            auto v = make(Kind::Bool);
            v->b = op == 0x88;
            stack_.push_back(v);
            return true;
        }
        case 'J': stack_.push_back(integer(static_cast<int32_t>(le(4)))); return true;
        case 'K': stack_.push_back(integer(static_cast<int64_t>(le(1)))); return true;
        case 'M': stack_.push_back(integer(static_cast<int64_t>(le(2)))); return true;
        case 0x8a:
        case 0x8b: {  // LONG1 / LONG4: little-endian two's complement
            const uint64_t len = le(op == 0x8a ? 1 : 4);
            if (len > 8) {  // kept as its bytes (torch's legacy magic number is 10 bytes long)
                auto v = make(Kind::Opaque);
                v->s = "long:" + bytes(len);
                stack_.push_back(v);
                return true;
            }
            uint64_t v = le(static_cast<size_t>(len));
            if (len > 0 && len < 8 && (v >> (8 * len - 1)) & 1) v |= ~uint64_t(0) << (8 * len);
            stack_.push_back(integer(static_cast<int64_t>(v)));
            return true;
        }
        case 'G': {
            const uint8_t* b = take(8);
            uint64_t bits = 0;
            for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];
            auto v = make(Kind::Float);
            std::memcpy(&v->f, &bits, 8);
            stack_.push_back(v);
            return true;
        }
        case 'I':
        case 'L': {  // text integers ("I01" / "I00": booleans in protocol 0)
            std::string s = line();
            if (!s.empty() && s.back() == 'L') s.pop_back();
            try {
                stack_.push_back(integer(std::stoll(s)));
            } catch (...) {
                fail("malformed pickle integer '" + s.substr(0, 40) + "'");
            }
            return true;
        }
        case 'X': stack_.push_back(str(bytes(le(4)))); return true;
        case 0x8c: stack_.push_back(str(bytes(le(1)))); return true;
        case 0x8d: stack_.push_back(str(bytes(le(8)))); return true;
        case 'T':
        case 'B': stack_.push_back(str(bytes(le(4)))); return true;  // byte strings kept as strings
        case 'U':
        case 'C': stack_.push_back(str(bytes(le(1)))); return true;
        case 0x8e:
        case 0x96: stack_.push_back(str(bytes(le(8)))); return true;
    }
    return false;
}

// Containers, marks and the memo.
bool Unpickler::stepStack(uint8_t op) {
    switch (op) {
        case '(': marks_.push_back(stack_.size()); return true;
        case '}': stack_.push_back(make(Kind::Dict)); return true;
        case ']':
        case 0x8f: stack_.push_back(make(Kind::List)); return true;
        case ')': stack_.push_back(make(Kind::Tuple)); return true;
        case 't': stack_.push_back(seq(Kind::Tuple, popMark())); return true;
        case 'l': stack_.push_back(seq(Kind::List, popMark())); return true;
        case 0x91: stack_.push_back(seq(Kind::List, popMark())); return true;
        case 'd': {
            auto items = popMark();
            if (items.size() % 2) fail("malformed pickle: odd DICT");
            stack_.push_back(seq(Kind::Dict, items));
            return true;
        }
        case 0x85:
        case 0x86:
        case 0x87: {
            std::vector<ValuePtr> items(op - 0x84);
            for (size_t i = items.size(); i-- > 0;) items[i] = pop();
            stack_.push_back(seq(Kind::Tuple, items));
            return true;
        }
        case 'a': {
            auto item = pop();
            addItems(top(), {item}, false);
            return true;
        }
        case 's': {
            auto v = pop();
            auto k = pop();
            addItems(top(), {k, v}, true);
            return true;
        }
        case 'e':
        case 'u':
        case 0x90: {
            auto items = popMark();
            addItems(top(), items, op == 'u');
            return true;
        }
        case 'q': memoPut(le(1)); return true;
        case 'r': memoPut(le(4)); return true;
        case 0x94: memoPut(memo_.size()); return true;
        case 'h': memoGet(le(1)); return true;
        case 'j': memoGet(le(4)); return true;
        case '0': pop(); return true;
        case '1': popMark(); return true;
        case '2': stack_.push_back(top()); return true;
    }
    return false;
}

// Globals, calls (interpreted, never run), object state and persistent ids.
bool Unpickler::stepObject(uint8_t op) {
    switch (op) {
        case 'c': {
            const std::string mod = line();
            stack_.push_back(global(mod, line()));
            return true;
        }
        case 0x93: {
            auto name = pop();
            auto mod = pop();
            if (mod->kind != Kind::String || name->kind != Kind::String) fail("malformed pickle: STACK_GLOBAL");
            stack_.push_back(global(mod->s, name->s));
            return true;
        }
        case 'R': {
            auto args = pop();
            auto fn = pop();
            stack_.push_back(reduce(fn, args));
            return true;
        }
        case 0x81:
        case 0x92: {  // NEWOBJ / NEWOBJ_EX: cls.__new__(cls, *args)
            if (op == 0x92) pop();
            auto args = pop();
            auto cls = pop();
            stack_.push_back(reduce(cls, args->kind == Kind::Tuple ? args : seq(Kind::Tuple, {})));
            return true;
        }
        case 'b':
            pop();
            top();
            return true;  // BUILD: an object's state, not needed for what we read
        case 'Q': {
            auto pid = pop();
            stack_.push_back(persistent_ ? persistent_(pid) : nullptr);
            if (!stack_.back()) fail("pickle refers to storage outside the file");
            return true;
        }
    }
    return false;
}

ValuePtr Unpickler::run(size_t* consumed) {
    while (true) {
        op_at_ = p_;
        const uint8_t op = *take(1);
        if (op == '.') break;
        if (op == 0x80) {
            if (le(1) > 5) fail("pickle protocol newer than 5");
            continue;
        }
        if (op == 0x95) {  // FRAME: a length hint only
            le(8);
            continue;
        }
        if (stepData(op) || stepStack(op) || stepObject(op)) continue;
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex);
    }
    if (stack_.size() != 1 || !marks_.empty())
        fail("malformed pickle: " + std::to_string(stack_.size()) + " values left at STOP");
    if (consumed) *consumed = p_;
    return stack_.back();
}

}  // namespace detail

ValuePtr load(const uint8_t* data, size_t size, const std::string& source, const PersistentLoad& persistent,
              size_t* consumed) {
    detail::Unpickler u(data, size, source, persistent);
    return u.run(consumed);
}

}  // namespace dilute::io::pickle
