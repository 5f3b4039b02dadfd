#pragma once
// The unpickler's machine (io/pickle.h is the interface): pickle.cpp holds the value rules
// (which globals, what REDUCE builds), pickle_ops.cpp the opcodes.
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "io/pickle.h"
#include "util/error.h"

namespace dilute::io::pickle::detail {

constexpr size_t kMaxValues = 4u << 20;  // values one file may create
constexpr int kMaxDepth = 200;           // container nesting

class Unpickler {
public:
    Unpickler(const uint8_t* d, size_t n, const std::string& src, const PersistentLoad& pl)
        : d_(d), n_(n), src_(src), persistent_(pl) {}
    ValuePtr run(size_t* consumed);

private:
    bool stepData(uint8_t op);
    bool stepStack(uint8_t op);
    bool stepObject(uint8_t op);
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(src_ + ": " + what + " (pickle byte " + std::to_string(op_at_) + ")");
    }
    const uint8_t* take(size_t k) {
        if (k > n_ - p_) fail("pickle is truncated");
        const uint8_t* r = d_ + p_;
        p_ += k;
        return r;
    }
    uint64_t le(size_t k) {
        const uint8_t* b = take(k);
        uint64_t v = 0;
        for (size_t i = 0; i < k; ++i) v |= uint64_t(b[i]) << (8 * i);
        return v;
    }
    std::string line() {
        const void* nl = std::memchr(d_ + p_, '\n', n_ - p_);
        if (!nl) fail("pickle is truncated");
        const size_t len = static_cast<const uint8_t*>(nl) - (d_ + p_);
        std::string s(reinterpret_cast<const char*>(take(len)), len);
        take(1);
        return s;
    }
    std::string bytes(uint64_t len) {
        if (len > n_ - p_) fail("pickle string runs past the end of the data");
        return std::string(reinterpret_cast<const char*>(take(len)), len);
    }
    ValuePtr make(Kind k) {
        if (++made_ > kMaxValues) fail("pickle holds more than " + std::to_string(kMaxValues) + " values");
        auto v = std::make_shared<Value>();
        v->kind = k;
        return v;
    }
    ValuePtr pop() {
        if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
            fail("malformed pickle: stack underflow");
        auto v = stack_.back();
        stack_.pop_back();
        return v;
    }
    ValuePtr& top() {
        if (stack_.empty()) fail("malformed pickle: stack underflow");
        return stack_.back();
    }
    std::vector<ValuePtr> popMark() {
        if (marks_.empty()) fail("malformed pickle: no MARK");
        const size_t m = marks_.back();
        marks_.pop_back();
        std::vector<ValuePtr> out(stack_.begin() + m, stack_.end());
        stack_.resize(m);
        return out;
    }
    void adopt(Value& c, const ValuePtr& item) {
        if (item->depth + 1 > c.depth) c.depth = item->depth + 1;
        if (c.depth > kMaxDepth) fail("pickle nests deeper than " + std::to_string(kMaxDepth) + " levels");
        c.items.push_back(item);
    }
    ValuePtr seq(Kind k, const std::vector<ValuePtr>& items) {
        auto v = make(k);
        for (const auto& it : items) adopt(*v, it);
        return v;
    }
    ValuePtr str(std::string s) {
        auto v = make(Kind::String);
        v->s = std::move(s);
        return v;
    }
    ValuePtr integer(int64_t i) {
        auto v = make(Kind::Int);
        v->i = i;
        return v;
    }
    ValuePtr global(const std::string& mod, const std::string& name);
    ValuePtr reduce(const ValuePtr& fn, const ValuePtr& args);
    ValuePtr tensor(const std::vector<ValuePtr>& a);
    void addItems(const ValuePtr& target, const std::vector<ValuePtr>& items, bool pairs);
    void memoPut(uint64_t idx) {
        if (memo_.size() >= kMaxValues && !memo_.count(idx)) fail("pickle memo is too large");
        memo_[idx] = top();
    }
    void memoGet(uint64_t idx) {
        auto it = memo_.find(idx);
        if (it == memo_.end()) fail("malformed pickle: memo entry " + std::to_string(idx) + " was never stored");
        stack_.push_back(it->second);
    }

    const uint8_t* d_;
    size_t n_, p_ = 0, op_at_ = 0, made_ = 0;
    const std::string& src_;
    const PersistentLoad& persistent_;
    std::vector<ValuePtr> stack_;
    std::vector<size_t> marks_;
    std::map<uint64_t, ValuePtr> memo_;
};

}  // namespace dilute::io::pickle::detail
