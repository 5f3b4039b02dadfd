#include "plotutil.h"

#include <QFileDialog>
#include <QMenu>
#include <qcustomplot.h>

namespace dilute::gui {

unsigned int seriesColor(int i) {
    static const unsigned int palette[] = {0x0072B2, 0xD55E00, 0x009E73, 0xCC79A7, 0xE69F00, 0x56B4E9, 0xF0E442, 0x000000};
    return palette[i % 8];
}

bool savePlot(QCustomPlot* plot, const QString& path) {
    if (path.endsWith(".pdf", Qt::CaseInsensitive)) return plot->savePdf(path);
    return plot->savePng(path, 0, 0, 2.0);
}

QCustomPlot* makePlot(const QString& title, const QString& xLabel, const QString& yLabel, QWidget* parent) {
    auto* p = new QCustomPlot(parent);
    p->setMinimumSize(260, 190);
    p->plotLayout()->insertRow(0);
    auto* t = new QCPTextElement(p, title, QFont(p->font().family(), 10, QFont::Bold));
    p->plotLayout()->addElement(0, 0, t);
    p->xAxis->setLabel(xLabel);
    p->yAxis->setLabel(yLabel);
    p->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(p, &QWidget::customContextMenuRequested, p, [p, title](const QPoint& pos) {
        QMenu menu(p);
        menu.addAction("Save as PNG...");
        auto* pdf = menu.addAction("Save as PDF...");
        auto* chosen = menu.exec(p->mapToGlobal(pos));
        if (!chosen) return;
        const bool isPdf = chosen == pdf;
        QString name = title;
        name.replace(QRegularExpression("[^A-Za-z0-9]+"), "_");
        const QString path = QFileDialog::getSaveFileName(p, chosen->text(), name + (isPdf ? ".pdf" : ".png"),
                                                          isPdf ? "PDF (*.pdf)" : "PNG (*.png)");
        if (!path.isEmpty()) savePlot(p, path);
    });
    return p;
}

void showLegendBelow(QCustomPlot* plot) {
    auto* row = new QCPLayoutGrid;
    plot->plotLayout()->addElement(plot->plotLayout()->rowCount(), 0, row);
    row->setMargins(QMargins(4, 0, 4, 4));
    row->addElement(0, 0, plot->legend);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->legend->setVisible(true);
    plot->plotLayout()->setRowStretchFactor(plot->plotLayout()->rowCount() - 1, 0.001);
}

}  // namespace dilute::gui
