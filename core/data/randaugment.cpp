#include "data/randaugment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>

#include "util/error.h"

namespace dilute::data {

namespace {

constexpr double kLevelDenom = 10.0;  // timm's _LEVEL_DENOM
constexpr AugOp kOps[] = {AugOp::AutoContrast, AugOp::Equalize,      AugOp::Invert,       AugOp::Rotate,
                          AugOp::Posterize,    AugOp::Solarize,      AugOp::SolarizeAdd,  AugOp::Color,
                          AugOp::Contrast,     AugOp::Brightness,    AugOp::Sharpness,    AugOp::ShearX,
                          AugOp::ShearY,       AugOp::TranslateXRel, AugOp::TranslateYRel};

}  // namespace

const char* augOpName(AugOp op) {
    switch (op) {
        case AugOp::AutoContrast: return "AutoContrast";
        case AugOp::Equalize: return "Equalize";
        case AugOp::Invert: return "Invert";
        case AugOp::Rotate: return "Rotate";
        case AugOp::Posterize: return "Posterize";
        case AugOp::Solarize: return "Solarize";
        case AugOp::SolarizeAdd: return "SolarizeAdd";
        case AugOp::Color: return "Color";
        case AugOp::Contrast: return "Contrast";
        case AugOp::Brightness: return "Brightness";
        case AugOp::Sharpness: return "Sharpness";
        case AugOp::ShearX: return "ShearX";
        case AugOp::ShearY: return "ShearY";
        case AugOp::TranslateXRel: return "TranslateXRel";
        case AugOp::TranslateYRel: return "TranslateYRel";
    }
    return "?";
}

std::string RandAugmentConfig::spec() const {
    char b[96];
    std::snprintf(b, sizeof b, "rand-m%d-n%d-mstd%g-p%g-inc%d", magnitude, layers, magnitude_std, prob,
                  increasing ? 1 : 0);
    return b;
}

RandAugmentConfig parseRandAugment(const std::string& spec) {
    RandAugmentConfig c;
    c.magnitude = 10;
    c.magnitude_std = 0;
    c.increasing = false;
    const std::string what = "RandAugment '" + spec + "'";
    if (spec.rfind("rand", 0) != 0) throw Error(what + ": expected timm's form rand-m9-mstd0.5-inc1");
    size_t pos = 4;
    static const std::regex part(R"(^(mstd|inc|m|n|p)(\d+(\.\d+)?)$)");
    while (pos < spec.size()) {
        if (spec[pos] != '-') throw Error(what + ": expected '-' at position " + std::to_string(pos));
        const size_t end = std::min(spec.find('-', pos + 1), spec.size());
        const std::string p = spec.substr(pos + 1, end - pos - 1);
        std::smatch m;
        if (!std::regex_match(p, m, part)) throw Error(what + ": '" + p + "' is not one of mM, nN, mstdS, pP, incI");
        const double v = std::strtod(m[2].str().c_str(), nullptr);
        const std::string key = m[1];
        if (key == "m") {
            if (v > 30) throw Error(what + ": magnitude " + m[2].str() + " (expected 0..30)");
            c.magnitude = int(v);
        } else if (key == "n") {
            if (v < 1 || v > 16) throw Error(what + ": " + m[2].str() + " layers (expected 1..16)");
            c.layers = int(v);
        } else if (key == "mstd") {
            c.magnitude_std = v > 100 ? INFINITY : v;
        } else if (key == "p") {
            if (v > 1) throw Error(what + ": probability " + m[2].str() + " (expected 0..1)");
            c.prob = v;
        } else {
            c.increasing = v != 0;
        }
        pos = end;
    }
    return c;
}

std::vector<AugStep> planRandAugment(const RandAugmentConfig& c, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> U(0.0, 1.0);
    std::uniform_int_distribution<int> pick(0, int(std::size(kOps)) - 1);
    auto negate = [&](double v) { return U(rng) > 0.5 ? -v : v; };  // timm's _randomly_negate
    std::vector<AugStep> out;
    for (int l = 0; l < c.layers; ++l) {
        const AugOp op = kOps[pick(rng)];  // np.random.choice(ops, n, replace=True)
        if (c.prob < 1.0 && U(rng) > c.prob) continue;
        double m = c.magnitude;
        if (std::isinf(c.magnitude_std))
            m = U(rng) * m;
        else if (c.magnitude_std > 0)
            m = std::normal_distribution<double>(m, c.magnitude_std)(rng);
        m = std::max(0.0, std::min(m, kLevelDenom));
        const double level = m / kLevelDenom;
        AugStep s;
        s.op = op;
        switch (op) {
            case AugOp::AutoContrast:
            case AugOp::Equalize:
            case AugOp::Invert: break;
            case AugOp::Rotate: s.arg = negate(level * 30.0); break;
            case AugOp::Posterize: s.arg = c.increasing ? 4 - int(level * 4) : int(level * 4); break;
            case AugOp::Solarize: {
                const int t = std::min(256, int(level * 256));
                s.arg = c.increasing ? 256 - t : t;
                break;
            }
            case AugOp::SolarizeAdd: s.arg = std::min(128, int(level * 110)); break;
            case AugOp::Color:
            case AugOp::Contrast:
            case AugOp::Brightness:
            case AugOp::Sharpness:
                s.arg = c.increasing ? std::max(0.1, 1.0 + negate(level * 0.9)) : level * 1.8 + 0.1;
                break;
            case AugOp::ShearX:
            case AugOp::ShearY: s.arg = negate(level * 0.3); break;
            case AugOp::TranslateXRel:
            case AugOp::TranslateYRel: s.arg = negate(level * 0.45); break;
        }
        out.push_back(s);
    }
    return out;
}

}  // namespace dilute::data
