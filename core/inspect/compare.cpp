#include "inspect/compare.h"

#include <algorithm>
#include <cmath>

namespace dilute::inspect {

void compareImages(InspectResult& r, const std::string& vs, size_t maxChanges) {
    Comparison c;
    c.vs = vs;
    const int C = r.classes;
    c.confusion.assign(size_t(C) * C, 0);
    c.confusion_vs.assign(size_t(C) * C, 0);
    std::vector<int> labelled;
    long right = 0, right_vs = 0;
    for (size_t i = 0; i < r.images.size(); ++i) {
        const auto& im = r.images[i];
        if (im.label < 0 || im.label >= C || im.pred < 0 || im.pred_vs < 0) continue;
        labelled.push_back(int(i));
        const bool a = im.pred == im.label, b = im.pred_vs == im.label;
        right += a;
        right_vs += b;
        ++c.confusion[size_t(im.label) * C + im.pred];
        ++c.confusion_vs[size_t(im.label) * C + im.pred_vs];
        if (a && !b) c.right_to_wrong.push_back(int(i));
        if (!a && b) c.wrong_to_right.push_back(int(i));
    }
    if (!labelled.empty()) {
        c.top1 = 100.0 * double(right) / double(labelled.size());
        c.top1_vs = 100.0 * double(right_vs) / double(labelled.size());
    }
    auto change = [&](int i) { return std::fabs(r.images[size_t(i)].p_label_vs - r.images[size_t(i)].p_label); };
    std::stable_sort(labelled.begin(), labelled.end(), [&](int a, int b) { return change(a) > change(b); });
    labelled.resize(std::min(labelled.size(), maxChanges));
    c.largest_changes = labelled;
    r.comparison = std::move(c);
    r.compared = true;
}

}  // namespace dilute::inspect
