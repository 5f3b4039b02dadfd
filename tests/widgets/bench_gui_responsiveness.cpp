// GUI responsiveness while training: the longest event-loop stall with live plotting, and the
// training throughput with the workbench open vs the same job run by the CLI (own process).
// Run: QT_QPA_PLATFORM=offscreen build/tests/widgets/bench_gui_responsiveness [train_images]
#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>

#include <QTabWidget>

#include "jobrunner.h"
#include "mainwindow.h"
#include "projectpanel.h"
#include "trainingview.h"
#include "util/runtime.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "train/trainer.h"
#define slots Q_SLOTS

using namespace dilute;

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    dilute::setThreads(0);
    const size_t images = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 25600;
    QTemporaryDir tmp;
    train::TrainOptions o;
    o.model = "vit_nano_patch7_28";
    o.data = "fashion-mnist";
    o.epochs = 1;
    o.batch = 128;
    o.train_limit = images;
    o.test_limit = 1000;
    o.workers = 1;
    o.device = "cpu";
    o.select = "1,3";

    // The CLI, in its own process (as users run it), before and after the GUI run. In-process
    // runs would distort both: a second OpenMP thread pool (main thread + worker thread) pushes
    // libgomp into its throttled spin mode, measured 20% slower for either run.
    double cliSum = 0;
    int cliN = 0;
    auto headless = [&](const char* name) {
        const QString dir = tmp.filePath(name);
        QProcess p;
        p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        p.start(DILUTE_CLI, {"train",
                             "-m",
                             "vit_nano_patch7_28",
                             "--data",
                             "fashion-mnist",
                             "--epochs",
                             "1",
                             "--batch",
                             "128",
                             "--train-limit",
                             QString::number(images),
                             "--test-limit",
                             "1000",
                             "--workers",
                             "1",
                             "--device",
                             "cpu",
                             "--select",
                             "1,3",
                             "-o",
                             dir});
        p.waitForFinished(-1);
        QFile f(dir + "/metrics.jsonl");
        f.open(QIODevice::ReadOnly);
        for (const auto& line : f.readAll().split('\n')) {
            const auto doc = QJsonDocument::fromJson(line);
            if (doc["event"].toString() == "epoch") {
                cliSum += doc["images_per_s"].toDouble();
                ++cliN;
                std::printf("  CLI run %d: %.1f images/s\n", cliN, doc["images_per_s"].toDouble());
            }
        }
    };
    headless("cli1");

    // With the workbench open and plotting live.
    gui::MainWindow w;
    if (!getenv("BENCH_HIDDEN")) w.show();
    w.projectPanel()->setModel("vit_nano_patch7_28");
    double guiIps = 0;
    QObject::connect(w.runner()->worker(), &gui::Worker::epoch,
                     [&](const train::EpochEvent& e) { guiIps = e.images_per_s; });
    QElapsedTimer clock;
    qint64 last = 0, worst = 0;
    long long ticks = 0;
    QTimer probe;
    probe.setInterval(getenv("BENCH_PROBE_MS") ? atoi(getenv("BENCH_PROBE_MS")) : 10);
    QObject::connect(&probe, &QTimer::timeout, [&] {
        const qint64 now = clock.elapsed();
        if (ticks++ > 0) worst = std::max(worst, now - last);
        last = now;
    });
    auto go = o;
    go.out_dir = tmp.filePath("gui").toStdString();
    w.trainingView()->setSelection({1, 3});
    w.tabs()->setCurrentWidget(w.trainingView());  // the live plots are on screen
    QTimer::singleShot(0, [&] {
        clock.start();
        probe.start();
        go.model = "";  // filled from the project panel
        w.startTraining(go);
    });
    QObject::connect(w.runner(), &gui::JobRunner::busyChanged, [&](bool busy) {
        if (!busy) app.quit();
    });
    app.exec();
    std::printf("  GUI run: %.1f images/s\n", guiIps);
    headless("cli2");
    std::printf("training %zu images, 1 epoch, vit_nano_patch7_28, batch 128, 2 blocks diluted\n", images);
    std::printf("longest GUI event-loop stall during training: %lld ms (target < 50 ms; %lld probe ticks)\n",
                (long long)worst, ticks);
    std::printf("throughput of the CLI (mean of the runs before and after): %.1f images/s\n",
                cliSum / std::max(1, cliN));
    std::printf("throughput with the GUI open:   %.1f images/s (%.1f%% of the CLI; target >= 95%%)\n", guiIps,
                100.0 * guiIps / (cliSum / std::max(1, cliN)));
    return 0;
}
