// The playground's editor: CodeMirror 6 with the four languages wasmbox runs.
import { EditorView, basicSetup } from 'codemirror';
import { keymap } from '@codemirror/view';
import { Compartment, Prec } from '@codemirror/state';
import { python } from '@codemirror/lang-python';
import { javascript } from '@codemirror/lang-javascript';
import { StreamLanguage } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';

const languages = {
  python: () => python(),
  javascript: () => javascript(),
  typescript: () => javascript({ typescript: true }),
  bash: () => StreamLanguage.define(shell),
};

export function createEditor(parent, { doc = '', language = 'python', onRun } = {}) {
  const lang = new Compartment();
  const view = new EditorView({
    doc,
    parent,
    extensions: [
      basicSetup,
      lang.of(languages[language]()),
      Prec.highest(keymap.of([{ key: 'Mod-Enter', run: () => { onRun?.(); return true; } }])),
      EditorView.lineWrapping,
    ],
  });
  return {
    view,
    get value() { return view.state.doc.toString(); },
    set value(text) { view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }); },
    setLanguage(name) { view.dispatch({ effects: lang.reconfigure(languages[name]()) }); },
    focus() { view.focus(); },
  };
}
