// openModel's provenance: the selection a Dilute run records in its final weights is read back
// (info, the model panel), and a lying one is refused naming the file.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/test_util.h"
#include "io/summary.h"
#include "io/weights.h"
#include "model/preset.h"
#include "model/vit.h"

using namespace dilute;
using namespace dilute::testing;

namespace {
std::string savedWithSelection(const TempDir& d, const std::string& name, const std::string& selection) {
    auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
    m->initWeights(1);
    const std::string path = d.file(name);
    io::saveModel(*m, path, {{"dilute.selection", selection}, {"dilute.step", "10"}});
    return path;
}
}  // namespace

TEST(OpenModel, ARunsSelectionIsReadBackAsProvenance) {
    TempDir d("open-sel");
    io::ModelOrigin origin;
    io::openModel(savedWithSelection(d, "final.safetensors", "[1,3]"), {}, nullptr, nullptr, &origin);
    EXPECT_EQ(origin.selection, (std::vector<int>{1, 3}));
    bool shown = false;
    for (const auto& [label, text] : io::modelSummary(model::preset("vit_nano_patch7_28"), origin))
        if (label == "trained") shown = text.find("diluted blocks 1,3") != std::string::npos;
    EXPECT_TRUE(shown);
    // describeModel (the model panel, recipes) reads the same.
    io::ModelOrigin described;
    io::describeModel(d.file("final.safetensors"), {}, &described);
    EXPECT_EQ(described.selection, origin.selection);
    // A control run (nothing diluted) records an empty list: no row.
    io::openModel(savedWithSelection(d, "control.safetensors", "[]"), {}, nullptr, nullptr, &origin);
    EXPECT_TRUE(origin.selection.empty());
}

TEST(OpenModel, ALyingSelectionIsRefusedNamingTheFile) {
    TempDir d("open-lie");
    for (const std::string bad : {"[99]", "[-1]", "not json", "{\"a\":1}", "[1.5]", "[0,1,2,3,4,5,6,7,8,9,10,11,12]"}) {
        const auto path = savedWithSelection(d, "lie.safetensors", bad);
        const auto e = errorText([&] { io::openModel(path); });
        EXPECT_NE(e.find("lie.safetensors"), std::string::npos) << bad << ": " << e;
        EXPECT_NE(e.find("dilute.selection"), std::string::npos) << bad << ": " << e;
    }
}
