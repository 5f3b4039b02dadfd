#pragma once
// Helpers of the workbench's widget tests (test_workbench.cpp): fake results and run folders,
// the CLI run as a user runs it, and the option-table parity check used for every job.
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSettings>
#include <QtTest>

#include "analysis/results.h"
#include "clijob.h"
#include "jobrunner.h"
#include "optionform.h"
#include "util/optiontable.h"
#include "util/runtime.h"

namespace dilute::gui::testing {

using namespace dilute;

inline analysis::AnalysisResult fakeResult(int depth = 6, int heads = 4) {
    analysis::AnalysisResult r;
    r.profile.depth = depth;
    r.profile.heads = heads;
    r.profile.embed_dim = 64;
    r.profile.head_dim = 16;
    for (int b = 0; b < depth; ++b) {
        r.profile.attn.push_back(-200 + b);
        r.profile.mlp.push_back(-150 - b);
        r.profile.head.push_back(std::vector<double>(heads, -25.0 + b));
        r.t_single.push_back(1.0 + b);
    }
    r.selection.blocks = {4};
    return r;
}

inline QString runCli(const QStringList& args) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(CliJob::program(), args);
    p.waitForFinished(60000);
    return QString::fromUtf8(p.readAll());
}

// One job's option table against the CLI and the GUI form generated from it: every option is in
// `dilute CMD --help`; the form shows it unless the table says why not; the CLI binds nothing
// outside the table but the job's own controls (`own`); and the form's values, as the view
// starts, equal the CLI's defaults (`--print-config`).
template <class O>
void checkOptionParity(const QString& cmd, const std::vector<OptionSpec<O>>& table, const OptionForm& form,
                       const O& gui, QStringList own, bool compareDefaults = true) {
    const QString help = runCli({cmd, "--help"});
    QVERIFY2(help.contains("--print-config"), qPrintable(cmd + ": " + help.left(300)));
    for (const auto& spec : table) {
        QString flag = QString::fromStdString(spec.flags).section(',', 0, 0);
        flag.remove('!');
        QVERIFY2(help.contains(flag), qPrintable(cmd + " " + flag));
        const QString name = QString::fromStdString(spec.name);
        if (spec.cliOnly.empty())
            QVERIFY2(form.editor(name), qPrintable(cmd + " " + name));
        else
            QVERIFY2(!form.editor(name) && spec.cliOnly.size() > 15, qPrintable(cmd + " " + name));
    }
    own << "--help"
        << "--threads"
        << "--max-image-pixels"
        << "--verbose"
        << "--config"
        << "--print-config";
    // Option names at the start of help lines ("  -e,--epochs ...", "  --lr ...").
    QRegularExpression re("^\\s+(?:-[a-zA-Z],)?(--[a-z][a-z0-9-]+)", QRegularExpression::MultilineOption);
    for (auto it = re.globalMatch(help); it.hasNext();) {
        const QString f = it.next().captured(1);
        bool known = own.contains(f);
        for (const auto& spec : table)
            known = known || QString::fromStdString(spec.flags).remove('!').split(',').contains(f);
        QVERIFY2(known, qPrintable(cmd + ": " + f + " is bound outside the option table"));
    }
    if (!compareDefaults) return;
    const QString printed = runCli({cmd, "--print-config"});
    const auto doc = QJsonDocument::fromJson(printed.toUtf8());
    QVERIFY2(doc.isObject(), qPrintable(cmd + ": " + printed));
    for (const auto& spec : table) {
        if (!spec.cliOnly.empty()) continue;
        const QJsonValue v = doc.object().value(QString::fromStdString(spec.name));
        QVERIFY2(!v.isUndefined(), qPrintable(cmd + " --print-config lacks " + QString::fromStdString(spec.name)));
        const QString g = QString::fromStdString(optionText(spec, gui));
        const QString msg = cmd + " " + QString::fromStdString(spec.name) + ": GUI " + g;
        if (v.isString())
            QVERIFY2(v.toString() == g, qPrintable(msg + ", CLI " + v.toString()));
        else if (v.isBool())
            QVERIFY2((v.toBool() ? "true" : "false") == g, qPrintable(msg));
        else
            QVERIFY2(v.toDouble() == g.toDouble(), qPrintable(msg + ", CLI " + QString::number(v.toDouble())));
    }
}

/// Every widget test program's initTestCase: its own settings, emptied; LibTorch on all cores.
inline void initWidgetTests() {
    QCoreApplication::setOrganizationName("DiluteTest");
    QSettings().clear();
    dilute::setThreads(0);
}

inline bool haveFashion() { return QDir("/usr/share/datasets/fashion-mnist").exists(); }

// Waits until the runner is idle (the job's finished signal came through).
inline bool waitIdle(JobRunner* r, int ms) {
    QElapsedTimer t;
    t.start();
    while (r->busy() && t.elapsed() < ms) QTest::qWait(50);
    return !r->busy();
}

// A run folder as the trainer writes it (config.json + metrics.jsonl), with `epochs` epochs of
// 4 steps and the given test top-1 per epoch.
inline void writeFakeRun(const QString& dir, const QString& selector, const QList<int>& blocks,
                         const QList<double>& top1, const QString& end) {
    QDir().mkpath(dir);
    QStringList b;
    for (int x : blocks) b << QString::number(x);
    QFile cfg(QDir(dir).filePath("config.json"));
    cfg.open(QIODevice::WriteOnly);
    cfg.write(
        QString(
            R"({"model":"base/final.safetensors","epochs":%1,"batch":64,"lr":0.001,"created":"2026-11-29T10:00:00Z",)"
            R"("resolved_selection":{"selector":"%2","blocks":[%3]}})")
            .arg(top1.size())
            .arg(selector, b.join(","))
            .toUtf8());
    QFile m(QDir(dir).filePath("metrics.jsonl"));
    m.open(QIODevice::WriteOnly);
    int step = 0;
    for (int e = 0; e < top1.size(); ++e) {
        for (int i = 0; i < 4; ++i) {
            ++step;
            QStringList lam;
            for (int k = 0; k < blocks.size(); ++k) lam << QString::number(std::max(0.0, 1.0 - step / 6.0));
            m.write(QString(R"({"event":"step","step":%1,"epoch":%2,"loss":%3,"lambda":[%4]})"
                            "\n")
                        .arg(step)
                        .arg(e)
                        .arg(2.0 - 0.05 * step - 0.1 * top1.at(0) / 100)
                        .arg(lam.join(","))
                        .toUtf8());
        }
        m.write(QString(R"({"event":"epoch","epoch":%1,"step":%2,"test_top1":%3})"
                        "\n")
                    .arg(e)
                    .arg(step)
                    .arg(top1.at(e))
                    .toUtf8());
    }
    if (!end.isEmpty())
        m.write(QString(R"({"event":"end","status":"%1","step":%2})"
                        "\n")
                    .arg(end)
                    .arg(step)
                    .toUtf8());
}

}  // namespace dilute::gui::testing
