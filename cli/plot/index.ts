/** Training-history plots: load a Keras History JSON, draw the guide's accuracy/loss figure. */
export { FIGURE, historySvg, svgToPng } from './figure.ts';
export { loadHistory, parseHistory, type PlotHistory } from './history.ts';
export { renderPanel, type Box, type PanelSpec, type Series } from './panel.ts';
export { axisFor, type Axis } from './ticks.ts';
