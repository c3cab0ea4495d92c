import type { Rng } from './rng';

/** Categories whose items carry a maker's name (potters, carvers, painters). */
export const MAKER_CATEGORIES = ['zisha', 'jade', 'painting', 'wood', 'seal', 'porcelain'] as const;

const SURNAMES: [string, string][] = [
  ['王', 'Wang'], ['李', 'Li'], ['张', 'Zhang'], ['刘', 'Liu'], ['陈', 'Chen'], ['杨', 'Yang'], ['黄', 'Huang'],
  ['赵', 'Zhao'], ['吴', 'Wu'], ['周', 'Zhou'], ['徐', 'Xu'], ['孙', 'Sun'], ['马', 'Ma'], ['朱', 'Zhu'],
  ['胡', 'Hu'], ['郭', 'Guo'], ['何', 'He'], ['林', 'Lin'], ['罗', 'Luo'], ['郑', 'Zheng'], ['梁', 'Liang'],
  ['谢', 'Xie'], ['宋', 'Song'], ['唐', 'Tang'], ['许', 'Xu'], ['韩', 'Han'], ['冯', 'Feng'], ['邓', 'Deng'],
  ['曹', 'Cao'], ['彭', 'Peng'], ['曾', 'Zeng'], ['肖', 'Xiao'], ['董', 'Dong'], ['潘', 'Pan'], ['蒋', 'Jiang'],
  ['蔡', 'Cai'], ['余', 'Yu'], ['杜', 'Du'], ['程', 'Cheng'], ['苏', 'Su'], ['魏', 'Wei'], ['吕', 'Lyu'],
  ['丁', 'Ding'], ['沈', 'Shen'], ['姚', 'Yao'], ['卢', 'Lu'], ['崔', 'Cui'], ['钟', 'Zhong'], ['谭', 'Tan'],
  ['陆', 'Lu'], ['汪', 'Wang'], ['范', 'Fan'], ['廖', 'Liao'], ['夏', 'Xia'], ['方', 'Fang'], ['邹', 'Zou'],
  ['熊', 'Xiong'], ['秦', 'Qin'], ['江', 'Jiang'], ['薛', 'Xue'], ['顾', 'Gu'], ['蒲', 'Pu'], ['俞', 'Yu'],
];

const GIVEN: [string, string][] = [
  ['志', 'zhi'], ['建', 'jian'], ['国', 'guo'], ['明', 'ming'], ['华', 'hua'], ['文', 'wen'], ['德', 'de'],
  ['清', 'qing'], ['云', 'yun'], ['松', 'song'], ['石', 'shi'], ['泉', 'quan'], ['山', 'shan'], ['海', 'hai'],
  ['春', 'chun'], ['秋', 'qiu'], ['宁', 'ning'], ['安', 'an'], ['平', 'ping'], ['和', 'he'], ['荣', 'rong'],
  ['宝', 'bao'], ['玉', 'yu'], ['金', 'jin'], ['瑞', 'rui'], ['祥', 'xiang'], ['福', 'fu'], ['寿', 'shou'],
  ['鸿', 'hong'], ['鹏', 'peng'], ['飞', 'fei'], ['龙', 'long'], ['凤', 'feng'], ['梅', 'mei'], ['兰', 'lan'],
  ['竹', 'zhu'], ['菊', 'ju'], ['逸', 'yi'], ['雅', 'ya'], ['静', 'jing'], ['远', 'yuan'], ['古', 'gu'],
  ['墨', 'mo'], ['砚', 'yan'], ['陶', 'tao'], ['瓷', 'ci'], ['刚', 'gang'], ['强', 'qiang'], ['伟', 'wei'],
  ['军', 'jun'], ['新', 'xin'], ['永', 'yong'], ['长', 'chang'], ['立', 'li'], ['庆', 'qing'], ['斌', 'bin'],
  ['涛', 'tao'], ['峰', 'feng'], ['岳', 'yue'], ['琦', 'qi'], ['璋', 'zhang'], ['樵', 'qiao'], ['禅', 'chan'],
];

export interface MakerName {
  zh: string;
  en: string;
  slug: string;
}

/** An invented artisan name: a surname and one or two given-name characters. */
export function inventMakerName(rng: Rng): MakerName {
  const [s, sp] = rng.pick(SURNAMES);
  const parts = rng.sample(GIVEN, rng.bool(0.75) ? 2 : 1);
  const zh = s + parts.map((p) => p[0]).join('');
  const given = parts.map((p) => p[1]).join('');
  const en = `${sp} ${given.charAt(0).toUpperCase()}${given.slice(1)}`;
  return { zh, en, slug: `${sp}_${given}`.toLowerCase() };
}
