// QtTest, offscreen: the Project panel's model side (widgets/modelpanel.h) opens every source the
// CLI opens, with the same options, and shows what the model is, as `dilute info` prints it.
#include <QComboBox>
#include <QLabel>
#include <QSpinBox>
#include <QtTest>

#include "modelpanel.h"
#include "optionform.h"
#include "projectpanel.h"

using namespace dilute;
using namespace dilute::gui;

namespace {
QString golden(const char* f) { return QString(DILUTE_SOURCE_DIR) + "/tests/data/golden/" + f; }
}  // namespace

class ModelPanelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void presetIsDescribed() {
        ModelPanel p;
        p.setModel("deit_small_distilled_patch16_224");  // described once the typing pauses
        QTRY_VERIFY_WITH_TIMEOUT(p.summaryText().contains("deit_small_distilled"), 10000);
        const QString s = p.summaryText();
        QVERIFY2(s.contains("format") && s.contains("preset"), qPrintable(s));
        QVERIFY2(s.contains("distilled"), qPrintable(s));
        QVERIFY2(s.contains("resize 248 bicubic, centre crop 224"), qPrintable(s));
    }

    void everySourceWithItsOptions() {
        ModelPanel p;
        // The opening options come from io::ModelRef's table, special values named, not -1 or 0.
        auto* heads = qobject_cast<QSpinBox*>(p.optionForm()->editor("heads"));
        auto* size = qobject_cast<QSpinBox*>(p.optionForm()->editor("img_size"));
        QVERIFY(heads && size && p.optionForm()->editor("weights_key") && p.optionForm()->editor("arch"));
        QCOMPARE(heads->text(), QString("inferred"));
        QCOMPARE(size->text(), QString("the model's own"));
        QVERIFY(size->toolTip().contains("--img-size"));
        // A timm hub folder: its class names and preprocessing.
        p.setModel(golden("distilled_hub"));
        QTRY_VERIFY_WITH_TIMEOUT(p.summaryText().contains("timm hub folder"), 10000);
        QString s = p.summaryText();
        QVERIFY2(s.contains("a, b, c, d, e") && s.contains("head_dist averaged"), qPrintable(s));
        // A torch file that needs --heads: the error names the option, then the option opens it.
        QSignalSpy ready(&p, &ModelPanel::summaryReady);
        p.setModel(golden("plain.pth"));
        QTRY_VERIFY_WITH_TIMEOUT(p.summaryText().contains("--heads"), 10000);
        QCOMPARE(ready.last().at(0).toBool(), false);
        heads->setValue(2);
        size->setValue(48);
        QTRY_VERIFY_WITH_TIMEOUT(p.summaryText().contains("pytorch zip"), 10000);
        QCOMPARE(ready.last().at(0).toBool(), true);
        s = p.summaryText();
        QVERIFY2(s.contains("pytorch zip") && s.contains("pos_embed resampled from a 4x4 to a 6x6 grid"),
                 qPrintable(s));
        const auto r = p.ref();
        QCOMPARE(QString::fromStdString(r.model), golden("plain.pth"));
        QCOMPARE(r.heads, 2);
        QCOMPARE(r.img_size, 48);
        // The Project panel hands the same reference to the jobs.
        ProjectPanel project;
        project.modelPanel()->setRef(r);
        QCOMPARE(project.modelRef().img_size, 48);
        QCOMPARE(project.model(), golden("plain.pth"));
        const QByteArray shots = qgetenv("DILUTE_SCREENSHOT_DIR");
        if (!shots.isEmpty()) {
            project.resize(300, 900);
            QTRY_VERIFY_WITH_TIMEOUT(project.modelPanel()->summaryText().contains("6x6"), 10000);
            project.grab().save(QString(shots) + "/project-panel-model.png");
        }
    }
};

QTEST_MAIN(ModelPanelTest)
#include "test_modelpanel.moc"
