// Model management without VS Code: the catalogue of recommended Qwen2.5-Coder GGUF files, the
// resumable, checksum-verifying downloader, and the machine-based recommendation.
export { MODEL_CATALOG, findCatalogModel, huggingFaceUrl, formatBytes, describeCatalogModel } from './catalog';
export type { CatalogModel, CatalogQuant } from './catalog';
export { downloadModel, downloadFileName, CHECKSUM_UNKNOWN_NOTE, DownloadError } from './download';
export type { DownloadOptions, DownloadResult, DownloadSpec, FreeSpace } from './download';
export { probeMachine, recommendModel, recommendForThisMachine, parseNvidiaSmi } from './recommend';
export type { GpuInfo, MachineInfo, Recommendation } from './recommend';
