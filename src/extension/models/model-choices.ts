// The entries of the "Choose Model" quick pick: the model recommended for this machine first (with
// the reason), then the rest of the catalogue, each saying whether it is downloaded, half
// downloaded (resume) or still to download and how big it is, and last "pick a GGUF file on
// disk". Pure data in, pure data out, so the order and wording are unit-tested without VS Code.
import { CatalogModel, formatBytes } from '../../models/catalog';
import type { Recommendation } from '../../models/recommend';
import type { ModelOnDisk } from './model-files';

export type ModelChoiceAction =
  { kind: 'use'; model: CatalogModel; path: string } | { kind: 'download'; model: CatalogModel; resumeFrom: number } | { kind: 'pickFile' };

export interface ModelChoice {
  label: string;
  description: string;
  detail?: string;
  action: ModelChoiceAction;
}

function sizeText(m: CatalogModel): string {
  return `${m.sizeApproximate ? '~' : ''}${formatBytes(m.sizeBytes)}`;
}

function choiceFor(m: CatalogModel, disk: ModelOnDisk, recommended: Recommendation | null, currentPath: string): ModelChoice {
  const isRecommended = recommended?.model.id === m.id;
  const notes: string[] = [];
  if (isRecommended) notes.push('recommended');
  let action: ModelChoiceAction;
  if (disk.finished) {
    notes.push(disk.path === currentPath ? 'in use' : 'downloaded');
    action = { kind: 'use', model: m, path: disk.path };
  } else if (disk.partialBytes > 0) {
    notes.push(`resume download: ${formatBytes(disk.partialBytes)} of ${sizeText(m)} done`);
    action = { kind: 'download', model: m, resumeFrom: disk.partialBytes };
  } else {
    notes.push(`download ${sizeText(m)}`);
    action = { kind: 'download', model: m, resumeFrom: 0 };
  }
  if (m.sha256 === null && !disk.finished) notes.push('checksum unknown');
  return {
    label: `${isRecommended ? '$(star-full) ' : ''}${m.name}`,
    description: notes.join(' · '),
    detail: isRecommended ? recommended!.reason : undefined,
    action,
  };
}

export function modelChoices(
  catalog: readonly CatalogModel[],
  onDisk: (m: CatalogModel) => ModelOnDisk,
  recommended: Recommendation | null,
  currentPath: string,
): ModelChoice[] {
  const ordered = recommended ? [recommended.model, ...catalog.filter((m) => m.id !== recommended.model.id)] : [...catalog];
  const choices = ordered.map((m) => choiceFor(m, onDisk(m), recommended, currentPath));
  choices.push({
    label: '$(folder-opened) Pick a GGUF file on disk…',
    description: currentPath && !choices.some((c) => c.action.kind === 'use' && c.action.path === currentPath) ? `in use: ${currentPath}` : '',
    action: { kind: 'pickFile' },
  });
  return choices;
}
